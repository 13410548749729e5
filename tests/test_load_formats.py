"""Every format officials upload: .md, .html from a portal, .docx with tables, legacy encodings;
and a multi-document build where one broken file is named and left out."""
from __future__ import annotations

import unicodedata

import pytest

from index.build import build_index
from core.errors import DocumentError
from index.load import load_document
from index.meta import describe
from index.parse import parse_clauses
from index.report import words_lost
from tests.conftest import CORPUS_DIR, SEED


def _tree(path):
    return [c.clause_id for c in parse_clauses(load_document(path))]


def _seed_paragraphs() -> list[str]:
    """The seed as Word would hold it: one paragraph per blank-line-separated block."""
    raw = SEED.read_text(encoding="utf-8")
    return [" ".join(block.split("\n")).strip() for block in raw.split("\n\n") if block.strip()]


def _write_docx(path, header: list[list[str]], body: list[str], signature: list[list[str]]):
    import docx

    document = docx.Document()

    def table(cells: list[list[str]]) -> None:
        row = document.add_table(rows=1, cols=len(cells)).rows[0]
        for cell, lines in zip(row.cells, cells):
            cell.text = "\n".join(lines)

    table(header)
    for para in body:
        document.add_paragraph(para)
    table(signature)
    document.save(path)


def test_docx_with_header_and_signature_in_tables_gives_the_same_tree_and_keeps_every_word(tmp_path):
    paras = _seed_paragraphs()
    start = paras.index("NGHỊ QUYẾT Về nhiệm vụ phát triển kinh tế - xã hội năm 2024")
    recipients = next(i for i, p in enumerate(paras) if p.startswith("Nơi nhận"))
    header = [["HỘI ĐỒNG NHÂN DÂN", "TỈNH HƯNG YÊN", "Số: 412/NQ-HĐND"],
              ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
               "Hưng Yên, ngày 07 tháng 12 năm 2023"]]
    signature = [paras[recipients:recipients + 16], ["CHỦ TỊCH", "Trần Quốc Toàn"]]
    path = tmp_path / "nq412.docx"
    _write_docx(path, header, paras[start:recipients], signature)
    text = load_document(path)
    clauses = parse_clauses(text)
    assert [c.clause_id for c in clauses] == _tree(SEED)
    by_id = {c.clause_id: c for c in clauses}
    assert "412/NQ-HĐND" in by_id["HEADER"].text and "Hưng Yên, ngày 07" in by_id["HEADER"].text
    assert "Trần Quốc Toàn" in by_id["CLOSING"].text and "Lưu: VT" in by_id["CLOSING"].text
    assert words_lost(text, clauses) == 0
    assert describe(text, clauses).short == "Nghị quyết 412/NQ-HĐND"


def test_docx_written_one_paragraph_per_wrapped_line_keeps_ids(tmp_path):
    """Word files pasted from a wrapped copy: a wrapped line that starts with a dash stays text."""
    import docx

    lines = [line for line in SEED.read_text(encoding="utf-8").split("\n")]
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    path = tmp_path / "wrapped.docx"
    document.save(path)
    assert _tree(path) == _tree(SEED)


def test_markdown_upload_reduces_marks_to_text(tmp_path):
    raw = SEED.read_text(encoding="utf-8")
    md = raw.replace("\nĐiều 1.", "\n## **Điều 1.**").replace("\nĐiều 2.", "\n## Điều 2.")
    md = md.replace("Số: 412/NQ-HĐND", "| Số: 412/NQ-HĐND | [Hưng Yên](https://example.invalid/hy) |")
    path = tmp_path / "nq.md"
    path.write_text(md, encoding="utf-8")
    text = load_document(path)
    assert "**" not in text and "##" not in text and "https" not in text
    assert _tree(path) == _tree(SEED)


def test_html_saved_from_a_portal_keeps_the_document_and_drops_the_furniture(tmp_path):
    body = "".join(f"<p>{p}</p>" for p in _seed_paragraphs())
    page = f"""<html><head><title>Nghị quyết 412</title><script>var x = 'Điều 9.';</script></head><body>
      <nav><ul><li><a href="/">Trang chủ</a></li><li><a href="/vb">Văn bản pháp luật</a></li></ul></nav>
      <div class="tools"><a href="/t">Tải về</a> <a href="/l">Lược đồ</a> <a href="/r">Văn bản liên quan</a></div>
      <div class="content"><table><tr><td>HỘI ĐỒNG NHÂN DÂN TỈNH HƯNG YÊN</td>
      <td>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</td></tr></table>{body}</div>
      <div class="related"><h3><a href="/a">Văn bản liên quan</a></h3><ul><li><a href="/b">Nghị quyết 1/2024</a></li></ul></div>
      <footer>Bản quyền © Cổng thông tin</footer></body></html>"""
    path = tmp_path / "nq.html"
    path.write_text(page, encoding="utf-8")
    text = load_document(path)
    assert text.startswith("HỘI ĐỒNG NHÂN DÂN TỈNH HƯNG YÊN")
    for furniture in ("Trang chủ", "Tải về", "Văn bản liên quan", "Bản quyền", "var x"):
        assert furniture not in text
    ids = [c.clause_id for c in parse_clauses(text)]
    assert ids == _tree(SEED)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le"])
def test_unicode_encodings_are_read(tmp_path, encoding):
    path = tmp_path / "nq.txt"
    path.write_bytes(SEED.read_text(encoding="utf-8").encode(encoding))
    assert _tree(path) == _tree(SEED)


def test_windows_1258_is_read(tmp_path):
    """Windows-1258 writes tones as combining marks: decoded and NFC-composed it is the same text."""
    path = tmp_path / "nq.txt"
    path.write_bytes(_to_cp1258(SEED.read_text(encoding="utf-8")))
    assert _tree(path) == _tree(SEED)
    assert load_document(path) == load_document(SEED)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def _to_cp1258(text: str) -> bytes:
    """cp1258 holds â ê ô ă ơ ư đ precomposed and the five tones as combining marks."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONES))
            out += (base + "".join(p for p in parts if p in _TONES)).encode("cp1258")
    return bytes(out)


@pytest.mark.parametrize("sample, name", [
    ("NGHÞ QUYÕT\nVÒ nhiÖm vô ph¸t triÓn kinh tÕ - x· héi n¨m 2024\nhµnh ®éng", "TCVN3"),
    ("Soá: 412/NQ-HÑND\nNGHÒ QUYEÁT\nVeà nhieäm vuï phaùt trieån kinh teá - xaõ hoäi naêm 2024", "VNI"),
])
def test_legacy_font_encodings_are_refused_with_a_clear_message(tmp_path, sample, name):
    for enc in ("utf-8", "cp1252"):
        path = tmp_path / f"legacy-{enc}.txt"
        path.write_bytes(sample.encode(enc))
        with pytest.raises(DocumentError) as err:
            load_document(path)
        assert name in err.value.user_message and "Unicode" in err.value.user_message


def test_multi_document_build_indexes_the_rest_and_names_the_broken_one(tmp_settings, fake_embedder, tmp_path):
    broken = tmp_path / "hong.txt"
    broken.write_bytes(b"\x00\x01\x02 not text")
    files = [SEED, broken, CORPUS_DIR / "hcm-2853-2025-qd-ubnd-kehoach-ruiro-thientai.txt"]
    report = build_index(files, tmp_settings, fake_embedder.name, lambda: fake_embedder)
    assert report.documents == 2
    assert [f.source.name for f in report.failed] == ["hong.txt"]
    assert "không phải văn bản" in report.failed[0].user_message


def test_citations_name_their_document_when_several_are_indexed():
    from assistant.evidence import EvidenceSelector

    one = [{"doc": "a", "doc_name": "Nghị quyết 1/NQ-HĐND", "clause_id": "D1", "label": "Điều 1", "text": "x"}]
    two = one + [{"doc": "b", "doc_name": "Quyết định 2/QĐ-UBND", "clause_id": "D1", "label": "Điều 1", "text": "y"}]
    assert EvidenceSelector(one).label("a", one[0]) == "Điều 1"
    assert EvidenceSelector(two).label("b", two[1]) == "Điều 1 Quyết định 2/QĐ-UBND"
    attached = {"doc": "b", "doc_name": "Quyết định 2/QĐ-UBND", "clause_id": "A1/SI", "text": "z",
                "label": "phần I, Kế hoạch kèm theo Quyết định 2/QĐ-UBND"}
    assert EvidenceSelector(two).label("b", attached) == attached["label"]
