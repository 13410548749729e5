"""Turn a document file into clean text: NFC, page-break cuts joined, OCR noise out.

Nothing else is rewritten: clause text is quoted to officials verbatim.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from index.errors import DocumentError

SUPPORTED_SUFFIXES = (".txt", ".docx", ".pdf")
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024

# Stray OCR artefacts seen in scans: "*W*", "*htrung*" (stamp/signature scraps)
# and superscripts "^{Miền}". Italic markers "*…*" around preamble lines too.
_STRAY_TOKEN = re.compile(r"(?<!\S)\*[^\s*]{1,12}\*(?!\S)")
_SUPERSCRIPT = re.compile(r"\^\{[^}\n]*\}")
_DECORATIVE_LINE = re.compile(r"^[\s\-_=*.~–—]{3,}$")
_SENTENCE_END = re.compile(r"[.;:!?…”\")]\s*$")


def read_document(path: Path) -> str:
    """Read .txt/.docx/.pdf into raw text; refuse what cannot be a resolution."""
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"file not found: {path}", "Không tìm thấy tệp.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"unsupported file type {suffix!r} (expected .txt, .docx or .pdf)",
            "Chỉ nhận tệp .txt, .docx hoặc .pdf.",
        )
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(f"empty file: {path}", "Tệp rỗng.")
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"file too large: {size} bytes", "Tệp quá lớn (tối đa 20 MB).")
    if suffix == ".txt":
        raw = path.read_bytes()
        if b"\x00" in raw[:4096]:
            raise DocumentError(f"binary content in {path}", "Tệp không phải văn bản.")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DocumentError(f"not UTF-8 text: {path}", "Tệp không phải văn bản UTF-8.") from None
    elif suffix == ".docx":
        text = _read_docx(path)
    else:
        text = _read_pdf(path)
    if not text.strip():
        raise DocumentError(f"no text in {path}", "Tệp không có nội dung chữ.")
    return text


def _read_docx(path: Path) -> str:
    import docx  # python-docx, imported lazily

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zip/xml errors differ by version
        raise DocumentError(f"unreadable .docx: {exc}", "Không đọc được tệp .docx.") from exc
    # Paragraphs are real paragraphs: keep them apart with blank lines.
    return "\n\n".join(p.text for p in document.paragraphs)


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:
        raise DocumentError(f"unreadable .pdf: {exc}", "Không đọc được tệp .pdf.") from exc
    # A page boundary is a blank line; clean_text joins a sentence cut by it.
    return "\n\n".join(pages)


def clean_text(raw: str) -> str:
    """NFC, OCR noise removed, page-break cuts joined; paragraphs stay apart.

    Returns lines; a blank line separates paragraphs.
    >>> clean_text("đất đai, tài\\n\\nnguyên và các nguồn lực.")
    'đất đai, tài nguyên và các nguồn lực.'
    """
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    text = _SUPERSCRIPT.sub("", text)
    text = _STRAY_TOKEN.sub("", text)
    lines: list[str] = []
    for line in text.split("\n"):
        line = strip_markup(re.sub(r"[ \t]+", " ", line).strip())
        if _DECORATIVE_LINE.match(line):
            line = ""
        lines.append(line)
    return "\n".join(_join_page_cuts(lines)).strip("\n")


_HEADING_MARK = re.compile(r"^#{1,6}\s*")
_EMPHASIS = re.compile(r"(?<![\w*])(\*{1,3}|_{2,3})(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^)\s]+)\)")
_PIPES = re.compile(r"\s*\|\s*")


def strip_markup(line: str) -> str:
    """Markdown and table residue of web copies -> the words alone.

    >>> strip_markup("## **Điều 2.** Nhiệm vụ")
    'Điều 2. Nhiệm vụ'
    >>> strip_markup("| Số: 09/2025/NĐ-CP |"), strip_markup("Xem [Luật](https://x.vn/a) này")
    ('Số: 09/2025/NĐ-CP', 'Xem Luật này')
    >>> strip_markup("*Căn cứ Luật*"), strip_markup("* Phân theo lĩnh vực")
    ('Căn cứ Luật', '* Phân theo lĩnh vực')
    """
    line = _HEADING_MARK.sub("", line)
    line = _LINK.sub(r"\1", line)
    for _ in range(2):  # "***x***" and nested "**_x_**"
        line = _EMPHASIS.sub(r"\2", line)
    line = re.sub(r"^\*{2,3}(?=\S)|(?<=\S)\*{2,3}$", "", line)  # an emphasis cut by a line break
    line = re.sub(r"^\*(?=[^\s*])|(?<=[^\s*])\*$", "", line)  # italic marks, not "* bullets"
    if "|" in line:
        line = _PIPES.sub(" ", line).strip()
    return line.strip()


def _join_page_cuts(lines: list[str]) -> list[str]:
    """'cụm công' + '' + 'nghiệp.' -> 'cụm công nghiệp.'

    A blank gap between a line that stops mid-sentence and one that starts in
    lower case is a page break, not a paragraph break.
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line and out and out[-1] == "" and len(out) >= 2 and out[-2]:
            prev = out[-2]
            if _starts_lower(line) and not _SENTENCE_END.search(prev):
                while out and out[-1] == "":
                    out.pop()
                out[-1] = f"{out[-1]} {line}"
                i += 1
                continue
        if line == "" and out and out[-1] == "":
            i += 1
            continue
        out.append(line)
        i += 1
    return out


def _starts_lower(line: str) -> bool:
    """A lower-case word, not a lettered point like 'a) …'."""
    first = line[0]
    return first.isalpha() and first.islower() and not re.match(r"^\w\)", line)


def load_document(path: Path) -> str:
    """Read and clean one document file."""
    return clean_text(read_document(path))
