"""Clause parser: golden trees (the seed and 18 real documents, written blind), round trips,
numbering traps, resynchronisation, attachments, quotations and documents with no structure."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from eval.golden_trees import GOLDEN_DIR, SETS, score
from core.errors import NoClausesError
from index.load import clean_text, load_document
from index.parse import parse_clauses, parse_document
from index.report import longest_paragraph, make_report, words_lost
from tests.conftest import CORPUS_DIR, SEED

GOLDEN = Path(__file__).parent / "golden" / "nq412_clauses.json"
CORPUS = sorted(CORPUS_DIR.glob("*.txt"))


def _seed_clauses():
    return parse_clauses(load_document(SEED))


def test_corpus_is_present_with_a_golden_tree_each():
    assert len(CORPUS) == 18, f"expected the 18 documents of {CORPUS_DIR}"
    assert {p.stem for p in CORPUS} == {p.stem for p in GOLDEN_DIR.glob("*.json")}


GOLDEN_CASES = [(corpus / f"{g.stem}.txt", g) for name, (golden, corpus) in SETS.items() if name != "test"
                for g in sorted(golden.glob("*.json"))]


@pytest.mark.parametrize("path, golden", GOLDEN_CASES, ids=[p.stem[:24] for p, _ in GOLDEN_CASES])
def test_real_document_matches_its_blind_golden_tree(path, golden):
    """>= 98% of the golden units (written by people who never saw the parser) have the right id
    and first words; no word of the cleaned source is lost. The development corpus, the held-out
    documents and the test documents alike."""
    s = score(path, golden)
    assert s.share >= 0.98, (s.missing[:5], s.extra[:5], s.wrong_words[:5])
    assert s.lost == 0


def _frozen_files() -> list[Path]:
    golden, corpus = SETS["test"]
    return sorted(golden.glob("*.json")) + sorted(corpus.glob("*.txt"))


def test_parse_test_split_is_frozen():
    """The test documents are only ever run to report: their hashes are pinned, so nobody edits them."""
    import hashlib

    pinned = dict(line.split("  ")[::-1] for line in (SETS["test"][0] / "SHA256SUMS").read_text().splitlines())
    actual = {str(p.relative_to(GOLDEN_DIR.parent.parent)): hashlib.sha256(p.read_bytes()).hexdigest()
              for p in _frozen_files()}
    assert actual == pinned


def test_parse_test_split_reaches_98_percent_overall():
    """Reported, not tuned on: six documents no one looked at to fix the parser."""
    golden, corpus = SETS["test"]
    scores = [score(corpus / f"{g.stem}.txt", g) for g in sorted(golden.glob("*.json"))]
    right, total = sum(s.right for s in scores), sum(s.golden for s in scores)
    assert len(scores) == 6 and right / total >= 0.98, (right, total)
    assert all(s.lost == 0 for s in scores)


@pytest.mark.parametrize("path", [SEED] + CORPUS, ids=lambda p: p.stem[:24])
def test_no_paragraph_is_glued_to_another(path):
    """A cascade glues paragraphs together; every paragraph of every clause stays within the
    longest paragraph of the source."""
    text = load_document(path)
    limit = longest_paragraph(text)
    for clause in parse_clauses(text):
        for para in clause.text.split("\n"):
            assert len(para) <= limit, (clause.clause_id, len(para), limit)


def test_seed_matches_golden_tree():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    clauses = _seed_clauses()
    assert [c.clause_id for c in clauses] == [g["clause_id"] for g in golden]
    for clause, gold in zip(clauses, golden):
        assert clause.label == gold["label"], clause.clause_id
        assert clause.title == gold["title"], clause.clause_id
        assert " ".join(clause.text.split()[:5]) == gold["first_words"], clause.clause_id


def test_seed_tree_links_parents_and_children():
    by_id = {c.clause_id: c for c in _seed_clauses()}
    assert by_id["D2/K2/M2.2/CT15"].parent == "D2/K2/M2.2"
    assert by_id["D2/K3/M3.17"].children == ["D2/K3/M3.17/B1", "D2/K3/M3.17/B2", "D2/K3/M3.17/B3"]
    assert [c for c in by_id["D2/K2"].children] == ["D2/K2/M2.1", "D2/K2/M2.2", "D2/K2/M2.3"]


def test_continuation_paragraph_stays_in_its_clause():
    by_id = {c.clause_id: c for c in _seed_clauses()}
    assert "Thực hiện quyết liệt và chủ động công tác giải phóng mặt bằng" in by_id["D2/K3/M3.5"].text
    assert "Vận hành hiệu quả Trung tâm truyền nhận dữ liệu" in by_id["D2/K3/M3.10"].text
    assert "tài nguyên và các nguồn lực" in by_id["D2/K1"].text
    assert "Trần Quốc Toàn" in by_id["CLOSING"].text and "Ủy ban Thường vụ Quốc hội" in by_id["CLOSING"].text


def _words(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize("path", [SEED] + CORPUS, ids=lambda p: p.name)
def test_round_trip_keeps_every_word_in_order(path):
    text = load_document(path)
    clauses = parse_clauses(text)
    rebuilt = "".join(_words(c.marker + c.title + c.text) for c in clauses)
    assert rebuilt == _words(text)


@pytest.mark.parametrize("path", [SEED] + CORPUS, ids=lambda p: p.name)
def test_ids_unique_and_no_clause_starts_with_wrapped_text(path):
    clauses = parse_clauses(load_document(path))
    ids = [c.clause_id for c in clauses]
    assert len(ids) == len(set(ids))
    for clause in clauses:
        if clause.kind not in ("HEADER", "PREAMBLE", "BODY", "CLOSING", "A"):
            assert not re.match(r"^[-–+]\s|^\d+[.,]\d{3}", clause.text), clause.clause_id
        assert clause.text[:1] != clause.text[:1].lower() or not clause.text[:1].isalpha() or clause.kind in (
            "HEADER", "PREAMBLE", "BODY", "CLOSING"), (clause.clause_id, clause.text[:40])


@pytest.mark.parametrize("path", [SEED] + CORPUS, ids=lambda p: p.name)
def test_nfd_input_gives_the_same_tree(path):
    raw = path.read_text(encoding="utf-8")
    nfc = parse_clauses(clean_text(unicodedata.normalize("NFC", raw)))
    nfd = parse_clauses(clean_text(unicodedata.normalize("NFD", raw)))
    assert [(c.clause_id, c.text) for c in nfc] == [(c.clause_id, c.text) for c in nfd]


def _by_id(name: str):
    return {c.clause_id: c for c in parse_clauses(load_document(CORPUS_DIR / name))}


def test_wrapped_figures_are_not_numbering():
    clauses = _by_id("gialai-54-2017-nq-hdnd-6thang-cuoi-nam.txt")
    assert not any(cid.endswith(("M8.318", "K2017")) for cid in clauses)
    assert "D1/SII/K2/M2.9" in clauses and "D1/SI" in clauses
    assert "8.318 tỷ đồng" in clauses["D1/SI"].text


def test_wrapped_dash_is_not_a_bullet():
    clauses = _by_id("haugiang-01-2017-nq-hdnd-6thang-cuoi-nam.txt")
    assert "bệnh tay - chân - miệng" in " ".join(c.text for c in clauses.values())
    assert [cid for cid in clauses if cid.startswith("D2/K")] == [f"D2/K{i}" for i in range(1, 11)]


def test_dieu_alone_on_its_line_points_and_plus_bullets():
    clauses = _by_id("dongthap-124-2017-nq-hdnd-chuongtrinh-dothi.txt")
    assert {"D1", "D2", "D3", "CLOSING", "A1", "A1/SI", "A1/SVII"} <= set(clauses)
    assert "A1/SV/K2/Pđ" in clauses and "A1/SV/K2/Pe" in clauses
    assert "A1/SIII/K2/B1/B7" in clauses  # '+' bullets nest under their '-' bullet
    assert clauses["A1/SIII/K1"].title == "Về hệ thống đô thị"
    assert clauses["A1/SI"].label == "phần I, Chương trình kèm theo Nghị quyết 124/2017/NQ-HĐND"


def test_points_directly_under_dieu_and_dash_targets():
    clauses = _by_id("quochoi-192-2025-qh15-bosung-kh-ktxh-2025.txt")
    assert {"D1/Pa", "D1/Pb", "D1/Pb/B1", "D1/Pb/B3", "D2/M2.1", "D2/M2.5", "D3"} <= set(clauses)
    assert "8% trở lên" in clauses["D1/Pb/B1"].text
    assert clauses["D1/Pb/B2"].label == "gạch đầu dòng thứ 2, điểm b, Điều 1"


def test_document_without_dieu():
    clauses = _by_id("chinhphu-380-nq-cp-2025-khacphuc-thientai.txt")
    assert "BODY" in clauses and "SII/K1/M1.1/Pđ" in clauses
    assert not any(cid.startswith("CLOSING/") for cid in clauses)
    assert "Phạm Minh Chính" in clauses["CLOSING"].text


def test_text_without_structure_is_indexed_as_paragraphs_with_a_notice():
    text = ("ỦY BAN NHÂN DÂN TỈNH A\nSố: 5/TB-UBND\n\nTHÔNG BÁO\nVề lịch tiếp công dân\n\n"
            "Ủy ban nhân dân tỉnh thông báo lịch tiếp công dân tháng 12.\n\nĐề nghị các cơ quan thực hiện.")
    result = parse_document(clean_text(text))
    assert [c.clause_id for c in result.clauses] == ["G1", "G2", "G3", "G4"]
    assert result.clauses[3].text == "Đề nghị các cơ quan thực hiện." and result.clauses[3].label == "đoạn 4"
    assert [w.code for w in result.warnings] == ["no_structure"]
    assert "chia theo đoạn" in result.warnings[0].message_vi()


def test_text_that_is_no_administrative_document_is_refused():
    with pytest.raises(NoClausesError) as err:
        parse_clauses(clean_text("Hôm nay trời đẹp.\nChúng tôi đi chơi công viên."))
    assert "Không nhận ra văn bản hành chính" in err.value.user_message


# -- synthetic variants of the seed: each failure of a real copy, reproduced -------------------

def _seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def _ids(text: str) -> list[str]:
    return [c.clause_id for c in parse_clauses(clean_text(text))]


def test_markdown_heading_and_missing_space_give_the_clean_ids():
    clean = _seed_text()
    messy = clean.replace("\nĐiều 2. Mục tiêu", "\n## Điều 2. Mục tiêu", 1)
    messy = messy.replace("\n1. Mục tiêu tổng quát", "\n1.Mục tiêu tổng quát", 1)
    assert messy != clean and "## Điều 2." in messy and "1.Mục tiêu tổng quát" in messy
    assert _ids(messy) == _ids(clean)


def test_bold_headings_and_table_pipes_are_markup():
    clean = _seed_text()
    messy = re.sub(r"^(Điều \d\.)", r"**\1**", clean, flags=re.M)
    messy = messy.replace("Số: 412/NQ-HĐND", "| Số: 412/NQ-HĐND |")
    assert messy.count("**Điều") == 3
    assert _ids(messy) == _ids(clean)


def test_any_letter_is_a_point_and_never_raises():
    text = "Điều 1. Nội dung\n" + "\n".join(f"{ch}) Việc thứ {i}." for i, ch in enumerate("abcdef", 1))
    clauses = {c.clause_id: c for c in parse_clauses(clean_text(text))}
    assert [cid for cid in clauses if cid.startswith("D1/P")] == [f"D1/P{ch}" for ch in "abcdef"]
    assert clauses["D1/Pf"].text == "Việc thứ 6."


def test_repeated_and_skipped_numbers_resynchronise_with_warnings():
    text = ("Điều 1. Một\nNội dung một.\nĐiều 3. Ba\nNội dung ba.\n"
            "I. PHẦN MỘT\n1. Việc một.\nII. PHẦN HAI\n1. Việc hai.\nII. PHẦN HAI NỮA\n1. Việc ba.\n"
            "Điều 4. Bốn\nNội dung bốn.")
    result = parse_document(clean_text(text))
    ids = [c.clause_id for c in result.clauses]
    assert ids == ["D1", "D3", "D3/SI", "D3/SI/K1", "D3/SII", "D3/SII/K1", "D3/SII~2", "D3/SII~2/K1", "D4"]
    assert {w.code for w in result.warnings} == {"gap", "repeat"}


def test_one_odd_line_costs_at_most_its_clause():
    """A khoản out of sequence stays text of its neighbour; the Điều after it still opens."""
    text = "Điều 1. Một\n1. Việc một.\n7. Việc lạc.\n2. Việc hai.\nĐiều 2. Hai\n1. Việc."
    ids = _ids(text)
    assert ids == ["D1", "D1/K1", "D1/K2", "D2", "D2/K1"]


def test_plan_attached_after_the_signature_is_its_own_part():
    decision = ("Số: 12/QĐ-UBND\nQUYẾT ĐỊNH\nVề việc ban hành Kế hoạch\nCăn cứ Luật.\nQUYẾT ĐỊNH:\n"
                "Điều 1. Ban hành kèm theo Quyết định này Kế hoạch.\nĐiều 2. Hiệu lực.\n"
                "Điều 3. Thi hành.\n1. Các sở thi hành.\n{signature}"
                "KẾ HOẠCH\nPhát triển du lịch\n(Ban hành kèm theo Quyết định số 12/QĐ-UBND)\n"
                "I. MỤC TIÊU\n1. Mục tiêu chung\n- Tăng 10% khách.\nII. NHIỆM VỤ\n1. Quảng bá\n- Làm phim.")
    for signature in ("Nơi nhận:\n- Như Điều 3;\n- Lưu: VT.\nKT. CHỦ TỊCH\nNguyễn Văn A\n", ""):
        clauses = {c.clause_id: c for c in parse_clauses(clean_text(decision.format(signature=signature)))}
        assert {"D3/K1", "A1", "A1/SI/K1/B1", "A1/SII/K1/B1"} <= set(clauses), signature
        assert not any(cid.startswith("D3/K1/") for cid in clauses)
        assert clauses["A1/SII/K1"].label == "khoản 1, phần II, Kế hoạch kèm theo Quyết định 12/QĐ-UBND"
        assert "Nguyễn Văn A" not in clauses["A1"].text


def test_quoted_amendment_stays_under_the_quoting_clause():
    text = ("Điều 1. Sửa đổi\n1. Sửa đổi Điều 6 như sau:\n“Điều 6. Quy trình\n1. Lập danh sách.\n"
            "2. Gửi hồ sơ.”\n2. Sửa đổi khoản 2 Điều 7 như sau:\n“2. Mức hỗ trợ 50%.”\nĐiều 2. Hiệu lực")
    ids = _ids(text)
    assert ids == ["D1", "D1/K1", "D1/K1/D6", "D1/K1/D6/K1", "D1/K1/D6/K2", "D1/K2", "D1/K2/K2", "D2"]


def test_parse_report_counts_levels_and_loses_no_word():
    text = load_document(SEED)
    report = make_report(text, parse_document(text))
    assert report.counts["D"] == 3 and report.counts["CT"] > 20
    assert report.lost == 0 and report.words == len(text.split())
    assert any("số từ bị mất: 0" in line for line in report.lines())


def test_words_lost_counts_a_dropped_word():
    text = "Điều 1. Một hai ba"
    clauses = parse_clauses(text)
    assert words_lost(text, clauses) == 0
    clauses[0].text = clauses[0].text.replace("hai ", "")
    assert words_lost(text, clauses) == 1
