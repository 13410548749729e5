"""Loading and cleaning: page-break cuts, OCR noise, Unicode, file types, bad input."""
from __future__ import annotations

import unicodedata

import pytest

from core.errors import DocumentError
from index.load import clean_text, load_document, read_document
from tests.conftest import SEED


def test_page_break_cut_is_joined_back():
    assert clean_text("Quản lý đất đai, tài\n\nnguyên và các nguồn lực.") == "Quản lý đất đai, tài nguyên và các nguồn lực."
    assert clean_text("các khu công nghiệp, cụm công\n\nnghiệp. Tăng cường") == "các khu công nghiệp, cụm công nghiệp. Tăng cường"


def test_real_paragraph_break_is_kept():
    text = clean_text("Hoàn thành kế hoạch.\n\nTiếp tục xây dựng")
    assert text == "Hoàn thành kế hoạch.\n\nTiếp tục xây dựng"


def test_lettered_point_after_unfinished_heading_is_not_joined():
    assert clean_text("Điều 1. Mục tiêu, chỉ tiêu\n\na) Mục tiêu tổng quát:") == (
        "Điều 1. Mục tiêu, chỉ tiêu\n\na) Mục tiêu tổng quát:")


def test_ocr_noise_is_removed_but_text_kept_verbatim():
    text = clean_text("thông qua. / . *htrung*\nNơi nhận: *W*\n- Lưu: VT, CV^{Miền}.\n*Căn cứ Luật;*")
    assert "*W*" not in text and "htrung" not in text and "^{" not in text and "Miền" not in text
    assert "thông qua. / ." in text and "- Lưu: VT, CV." in text and "Căn cứ Luật;" in text


def test_star_bullet_is_not_mistaken_for_italics():
    assert clean_text("* Phân theo giai đoạn") == "* Phân theo giai đoạn"


def test_nfd_input_becomes_nfc():
    nfd = unicodedata.normalize("NFD", "Tỷ lệ hộ nghèo giảm còn 0,71%.")
    assert clean_text(nfd) == unicodedata.normalize("NFC", "Tỷ lệ hộ nghèo giảm còn 0,71%.")


def test_seed_has_no_page_cut_left():
    text = load_document(SEED)
    assert "tài nguyên và các nguồn lực" in text
    assert "cụm công nghiệp. Tăng cường công khai" in text
    assert "*W*" not in text


def test_docx_is_read(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Điều 1. Thông qua kế hoạch.")
    document.add_paragraph("1. Tỷ lệ hộ nghèo giảm còn 0,71%.")
    path = tmp_path / "nq.docx"
    document.save(path)
    text = load_document(path)
    assert "Điều 1. Thông qua kế hoạch." in text and "0,71%" in text


def test_text_pdf_is_read(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    fig.text(0.1, 0.8, "Dieu 1. Thong qua ke hoach nam 2024.")
    path = tmp_path / "nq.pdf"
    fig.savefig(path)
    plt.close(fig)
    assert "2024" in read_document(path)


@pytest.mark.parametrize("name, content, message", [
    ("missing.txt", None, "Không tìm thấy"),
    ("empty.txt", b"", "rỗng"),
    ("binary.txt", b"\x00\x01\x02binary", "không phải văn bản"),
    ("unknown-encoding.txt", b"\x81\x8a\x8d\x8e\x8f\x90\x9a\x9d" * 2, "bảng mã"),
    ("image.png", b"\x89PNG....", ".txt, .md, .docx"),
    ("fake.docx", b"not a zip", ".docx"),
])
def test_bad_input_is_refused_with_a_vietnamese_message(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DocumentError) as err:
        load_document(path)
    assert message in err.value.user_message
