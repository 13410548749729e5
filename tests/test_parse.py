"""Clause parser: golden tree of the seed, round trips on real documents, numbering traps."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from index.errors import NoClausesError
from index.load import clean_text, load_document
from index.parse import parse_clauses
from tests.conftest import CORPUS_DIR, SEED

GOLDEN = Path(__file__).parent / "golden" / "nq412_clauses.json"
CORPUS = sorted(CORPUS_DIR.glob("*.txt"))


def _seed_clauses():
    return parse_clauses(load_document(SEED))


def test_corpus_is_present():
    assert len(CORPUS) == 5, f"expected the five documents of {CORPUS_DIR}"


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
    assert {"D1", "D2", "D3", "CLOSING", "SI", "SVII"} <= set(clauses)
    assert "SV/K2/Pđ" in clauses and "SV/K2/Pe" in clauses
    assert "SIII/K2/B1/B7" in clauses  # '+' bullets nest under their '-' bullet
    assert clauses["SIII/K1"].title == "Về hệ thống đô thị"


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


def test_text_without_structure_is_refused():
    with pytest.raises(NoClausesError) as err:
        parse_clauses(clean_text("Hôm nay trời đẹp.\nChúng tôi đi chơi công viên."))
    assert "Không nhận ra cấu trúc" in err.value.user_message
