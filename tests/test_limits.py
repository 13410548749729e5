"""Bounded input: a document over a limit is refused before the work the limit bounds, with a
Vietnamese message; the others of a build are still indexed."""
from __future__ import annotations

import time
import zipfile

import pytest

from core.errors import DocumentError
from index.limits import Limits
from tests.conftest import SEED


def test_a_20_mb_text_file_is_refused_at_once(tmp_path):
    """The shape of the real case: 20 MB of clauses would be ~100,000 clauses and hours of embedding."""
    from index.load import load_document

    line = "Điều 1. Giao Ủy ban nhân dân tỉnh tổ chức thực hiện Nghị quyết này.\n"
    path = tmp_path / "rat-lon.txt"
    path.write_text(line * (19 * 1024 * 1024 // len(line.encode("utf-8"))), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(DocumentError) as err:
        load_document(path)
    assert time.perf_counter() - started < 10
    assert "Văn bản quá dài" in err.value.user_message and "tối đa 1.500.000" in err.value.user_message


def test_file_size_limit_comes_from_the_settings(tmp_path):
    from index.load import load_document

    path = tmp_path / "nq.txt"
    path.write_bytes(SEED.read_bytes() * 30)  # ~1.5 MB
    with pytest.raises(DocumentError) as err:
        load_document(path, Limits(document_mb=1))
    assert "Tệp quá lớn" in err.value.user_message and "tối đa 1 MB" in err.value.user_message


def test_a_docx_that_inflates_past_the_limit_is_refused_before_parsing(tmp_path):
    from index.load import load_document

    path = tmp_path / "bom.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<w:document>" + b" " * (70 * 1024 * 1024) + b"</w:document>")
    assert path.stat().st_size < 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(DocumentError) as err:
        load_document(path)
    assert time.perf_counter() - started < 5
    assert "quá lớn khi giải nén" in err.value.user_message


def test_a_pdf_over_the_page_limit_is_refused_before_extraction(tmp_path):
    from pypdf import PdfWriter

    from index.load import load_document

    writer = PdfWriter()
    for _ in range(12):
        writer.add_blank_page(width=595, height=842)
    path = tmp_path / "dai.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    with pytest.raises(DocumentError) as err:
        load_document(path, Limits(pdf_pages=10))
    assert "quá nhiều trang (12; tối đa 10)" in err.value.user_message


def test_too_many_clauses_is_refused_and_the_other_documents_are_indexed(tmp_path):
    from index.build import parse_documents

    seed_clauses = len(parse_documents([SEED])[0][0].clauses)
    limit = seed_clauses + 10
    many = tmp_path / "nhieu-dieu.txt"
    many.write_text("NGHỊ QUYẾT\n\n" + "".join(f"Điều {i}. Nội dung điều {i}.\n\n" for i in range(1, limit + 20)),
                    encoding="utf-8")
    docs, failed = parse_documents([SEED, many], limits=Limits(clauses=limit))
    assert [d.source.name for d in docs] == [SEED.name]
    assert [f.source.name for f in failed] == [many.name]
    assert "quá nhiều điều khoản" in failed[0].user_message and f"tối đa {limit}" in failed[0].user_message


def test_limits_are_settings():
    from core.config import Settings

    assert Limits.of(Settings(max_clauses=7, max_document_mb=3)) == Limits(clauses=7, document_mb=3)
    assert Limits.of(Settings()) == Limits()
