"""Turn a document file into clean text: NFC, page-break cuts joined, OCR noise out.

Nothing else is rewritten: clause text is quoted to officials verbatim.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from core.errors import DocumentError
from index.limits import MB, Limits

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")

# Stray OCR artefacts seen in scans: "*W*", "*htrung*" (stamp/signature scraps)
# and superscripts "^{Miền}". Italic markers "*…*" around preamble lines too.
_STRAY_TOKEN = re.compile(r"(?<!\S)\*[^\s*]{1,12}\*(?!\S)")
_SUPERSCRIPT = re.compile(r"\^\{[^}\n]*\}")
_DECORATIVE_LINE = re.compile(r"^[\s\-_=*.~–—:|]{3,}$")
_SENTENCE_END = re.compile(r"[.;:!?…”\")]\s*$")

# Legacy Vietnamese encodings, as they look once decoded as Unicode: TCVN3 (ABC) puts its letters
# on Latin-1 symbols ("NghÞ quyÕt", "®Þnh"), VNI on a base letter plus a Latin-1 mark ("Soá",
# "HÑND"). Neither set occurs in Vietnamese Unicode text.
_TCVN3_MARKS = set("¸µ¶·¹¨©ª«¬®¯°±²³´½¾ÆÇËÌÎÏÑÒÓÔÕÖ×ØÜÞßãåæçëîïñòóôõö÷øùúûüýþ")
_VNI_MARKS = set("øûõïùâáàåãäêéèëæÑñ")
_VNI_PAIR = re.compile(r"[aeiouyAEIOUY][øûõïùâáàåãäêéèëæ]|[Ññ](?=[A-Za-z])|[ôö][ùøûõï]|[öôaâ][ùøû]")
_VIETNAMESE_ONLY = set("ăâđêôơưĂÂĐÊÔƠƯạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")


def read_document(path: Path, limits: Limits = Limits()) -> str:
    """Read .txt/.md/.docx/.pdf/.html into raw text; refuse what cannot be a resolution or is too big."""
    path = Path(path)
    if not path.is_file():
        raise DocumentError(f"file not found: {path}", "Không tìm thấy tệp.")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"unsupported file type {suffix!r} (expected .txt, .md, .docx, .pdf or .html)",
            "Chỉ nhận tệp .txt, .md, .docx, .pdf hoặc .html.",
        )
    size = path.stat().st_size
    if size == 0:
        raise DocumentError(f"empty file: {path}", "Tệp rỗng.")
    if size > limits.document_mb * MB:
        raise DocumentError(f"file too large: {size} bytes > {limits.document_mb} MB",
                            f"Tệp quá lớn ({size / MB:.1f} MB; tối đa {limits.document_mb} MB).")
    if suffix in (".txt", ".md"):
        text = decode_text(path.read_bytes(), path.name)
    elif suffix in (".html", ".htm"):
        text = html_to_text(decode_text(path.read_bytes(), path.name, html=True))
    elif suffix == ".docx":
        text = _read_docx(path, limits)
    else:
        text = _read_pdf(path, limits)
    if len(text) > limits.document_chars:
        raise DocumentError(
            f"{path.name}: {len(text)} characters > {limits.document_chars}",
            f"Văn bản quá dài ({_grouped(len(text))} ký tự; tối đa {_grouped(limits.document_chars)}). "
            "Hãy tách thành các văn bản nhỏ hơn.",
        )
    if not text.strip():
        raise DocumentError(f"no text in {path}", "Tệp không có nội dung chữ.")
    check_encoding(text, path.name)
    return text


def _grouped(n: int) -> str:
    """Thousands grouped the Vietnamese way.

    >>> _grouped(1500000)
    '1.500.000'
    """
    return f"{n:,}".replace(",", ".")


def decode_text(raw: bytes, name: str = "", *, html: bool = False) -> str:
    r"""Bytes -> text: UTF-8 (with or without BOM), UTF-16 (BOM or mostly-NUL pattern), Windows-1258.

    >>> decode_text("Số: 412".encode("utf-16")), decode_text(b"\xd0i\xea\xccu 1")  # cp1258: ê + combining grave
    ('Số: 412', 'Điều 1')
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    head = raw[:4096]
    if head.count(b"\x00") > len(head) // 4:  # UTF-16 without a BOM: every other byte is NUL for ASCII
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = raw.decode(enc)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text[:2000]:
                return text
        raise DocumentError(f"binary content in {name}", "Tệp không phải văn bản.")
    if b"\x00" in head:
        raise DocumentError(f"binary content in {name}", "Tệp không phải văn bản.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if html:
        m = re.search(rb"charset=[\"']?([\w-]+)", raw[:2048], re.I)
        if m:
            try:
                return raw.decode(m.group(1).decode("ascii"))
            except (LookupError, UnicodeDecodeError):
                pass
    legacy = legacy_encoding(raw.decode("cp1252", errors="replace"))  # TCVN3/VNI marks are Latin-1 symbols
    if legacy:
        check_encoding(raw.decode("cp1252", errors="replace"), name)
    text = raw.decode("cp1258", errors="replace")
    if text.count("\ufffd") > 5:
        raise DocumentError(f"unknown encoding in {name}", "Không nhận ra bảng mã của tệp. Hãy lưu lại dưới dạng Unicode (UTF-8).")
    return unicodedata.normalize("NFC", text)


def legacy_encoding(text: str) -> str | None:
    """'TCVN3' or 'VNI' when decoded text is one of the old font encodings, else None.

    >>> legacy_encoding("NghÞ quyÕt vÒ nhiÖm vô ph¸t triÓn kinh tÕ"), legacy_encoding("Soá: 412/NQ-HÑND tænh")
    ('TCVN3', 'VNI')
    >>> legacy_encoding("Nghị quyết về nhiệm vụ phát triển kinh tế - xã hội năm 2024") is None
    True
    """
    sample = text[:20000]
    letters = sum(ch.isalpha() for ch in sample) or 1
    vietnamese = sum(ch in _VIETNAMESE_ONLY for ch in sample)
    if vietnamese > 0.05 * letters:
        return None
    tcvn = sum(ch in _TCVN3_MARKS for ch in sample)
    vni = len(_VNI_PAIR.findall(sample))
    if vni >= 2 and vni >= 0.01 * letters:
        return "VNI"
    if tcvn >= 3 and tcvn >= 0.01 * letters:
        return "TCVN3"
    return None


def check_encoding(text: str, name: str = "") -> None:
    """Refuse text in TCVN3/VNI with a message that says how to convert it."""
    legacy = legacy_encoding(unicodedata.normalize("NFC", text))
    if legacy:
        raise DocumentError(
            f"{name}: text is in the legacy {legacy} encoding",
            f"Tệp dùng bảng mã {legacy} cũ, không phải Unicode. Hãy chuyển mã sang Unicode "
            "(ví dụ Unikey: Công cụ → Chuyển mã, từ " + legacy + " sang Unicode) rồi tải lên lại.",
        )


def _read_docx(path: Path, limits: Limits = Limits()) -> str:
    import zipfile

    import docx  # python-docx, imported lazily
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        with zipfile.ZipFile(path) as zf:
            inflated = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(f"unreadable .docx: {exc}", "Không đọc được tệp .docx.") from exc
    if inflated > limits.inflated_mb * MB:
        raise DocumentError(f".docx inflates to {inflated} bytes > {limits.inflated_mb} MB",
                            f"Tệp .docx quá lớn khi giải nén (tối đa {limits.inflated_mb} MB).")
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # zip/xml errors differ by version
        raise DocumentError(f"unreadable .docx: {exc}", "Không đọc được tệp .docx.") from exc
    # Body paragraphs and tables in reading order: the header (Số, place, date) and the
    # signature of real documents are tables.
    entries: list[str] = []  # one per Word paragraph; "" between table cells
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            entries.append(Paragraph(child, document).text)
        elif tag == "tbl":
            for block in _table_blocks(Table(child, document)):
                entries += [""] + block + [""]
    return docx_paragraphs_to_text(entries)


def _table_blocks(table) -> list[list[str]]:
    """Each cell (merged cells once) as a block of its paragraphs, row by row, left to right."""
    out: list[list[str]] = []
    for row in table.rows:
        seen = set()
        for cell in row.cells:
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            paras = [p.text for p in cell.paragraphs]
            for inner in cell.tables:
                paras += [line for block in _table_blocks(inner) for line in block]
            out.append(paras)
    return out


def docx_paragraphs_to_text(entries: list[str]) -> str:
    r"""Word paragraphs -> lines. Each paragraph is its own paragraph; but a file written one
    paragraph per wrapped line (many paragraphs stop mid-sentence and the next starts in lower
    case) keeps them as lines of one paragraph, so a wrapped '- 06%/năm' stays in its sentence.

    >>> docx_paragraphs_to_text(["Điều 1. Tăng", "- 06%/năm và", "giảm nghèo.", "", "Điều 2. Hết."])
    'Điều 1. Tăng\n- 06%/năm và\ngiảm nghèo.\n\nĐiều 2. Hết.'
    >>> docx_paragraphs_to_text(["Điều 1. Tăng 6%.", "Điều 2. Giảm."])
    'Điều 1. Tăng 6%.\n\nĐiều 2. Giảm.'
    """
    lines = [p.strip() for p in entries if p.strip()]
    pairs = list(zip(lines, lines[1:]))
    cut = sum(1 for a, b in pairs if not _SENTENCE_END.search(a) and b[:1].islower())
    wrapped = cut >= 1 and (cut >= 3 or cut >= 0.25 * len(pairs))
    if wrapped:
        return "\n".join(p.strip() for p in entries)
    return "\n\n".join(lines)


_HTML_DROP = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "button", "select",
              "iframe", "svg", "head", "title", "menu"}
_HTML_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article",
               "blockquote", "ul", "ol", "dd", "dt", "center", "pre"}
# Where a legal document starts in a portal page: the national motto or the issuer above it.
_DOC_START = re.compile(r"^(CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM|CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM|"
                        r"(QUỐC HỘI|CHÍNH PHỦ|HỘI ĐỒNG NHÂN DÂN|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN|BỘ [A-ZĐ])\b)")


def html_to_text(markup: str) -> str:
    r"""A page saved from a legal portal -> the document's lines.

    Page furniture goes by structure, not by a list of sites: script/style/nav/header/footer/aside/
    form are dropped, and so is every block whose text is mostly link text (menus, "Văn bản liên
    quan", "Tải về", tag clouds). The text then starts at the national motto or the issuer line.

    >>> html_to_text('<nav><a href=/>Trang chủ</a></nav><div><a href=1>Văn bản liên quan</a></div>'
    ...              '<div>ỦY BAN NHÂN DÂN TỈNH A</div><p>Số: 1/QĐ-UBND</p><table><tr><td>Điều 1.</td>'
    ...              '<td>Nội dung.</td></tr></table>')
    'ỦY BAN NHÂN DÂN TỈNH A\nSố: 1/QĐ-UBND\nĐiều 1. Nội dung.'
    """
    import lxml.html

    try:
        root = lxml.html.fromstring(markup)
    except Exception as exc:  # lxml raises several types on broken input
        raise DocumentError(f"unreadable HTML: {exc}", "Không đọc được tệp .html.") from exc
    for el in list(root.iter()):
        if not isinstance(el.tag, str):  # comments, processing instructions
            el.drop_tree() if el.getparent() is not None else None
            continue
        if el.tag.lower() in _HTML_DROP and el.getparent() is not None:
            el.drop_tree()
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        if el.tag.lower() in _HTML_BLOCK - {"br"}:
            text = el.text_content().strip()
            links = sum(len(a.text_content().strip()) for a in el.iter("a"))
            if text and links >= 0.6 * len(text):
                el.drop_tree()
    pieces: list[str] = []

    def walk(el) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _HTML_BLOCK:
            pieces.append("\n")
        if tag in ("td", "th"):
            pieces.append(" ")
        if el.text and tag:
            pieces.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                pieces.append(child.tail)
        if tag in _HTML_BLOCK:
            pieces.append("\n")

    walk(root)
    lines = [re.sub(r"\s+", " ", line).strip() for line in "".join(pieces).split("\n")]
    lines = [line for line in lines if line]
    start = next((i for i, line in enumerate(lines) if _DOC_START.match(line)), 0)
    return "\n".join(lines[start:])


def _read_pdf(path: Path, limits: Limits = Limits()) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        count = len(reader.pages)
    except Exception as exc:
        raise DocumentError(f"unreadable .pdf: {exc}", "Không đọc được tệp .pdf.") from exc
    if count > limits.pdf_pages:
        raise DocumentError(f".pdf of {count} pages > {limits.pdf_pages}",
                            f"Tệp .pdf quá nhiều trang ({count}; tối đa {limits.pdf_pages}).")
    try:
        pages, length = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            length += len(pages[-1])
            if length > limits.document_chars:
                break  # read_document refuses it; no need to extract the rest
    except Exception as exc:
        raise DocumentError(f"unreadable .pdf: {exc}", "Không đọc được tệp .pdf.") from exc
    # A page boundary is a blank line; clean_text joins a sentence cut by it.
    return "\n\n".join(pages)


def clean_text(raw: str) -> str:
    r"""NFC, OCR noise removed, page-break cuts joined; paragraphs stay apart.

    Returns lines; a blank line separates paragraphs.
    >>> clean_text("đất đai, tài\n\nnguyên và các nguồn lực.")
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
    return first.isalpha() and first.islower() and not re.match(r"^\w\)|^[a-zđ]\.\s+[A-ZĐÀ-Ỹ]", line)


def load_document(path: Path, limits: Limits = Limits()) -> str:
    """Read and clean one document file."""
    return clean_text(read_document(path, limits))
