"""What a document is: its kind, number and title, read from its HEADER (and attachments' lines).

One home for naming a document, so the manifest, the sidebar and citations agree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.parse import Clause

KINDS = {  # the type line of a document -> how it is named in a citation
    "NGHỊ QUYẾT": "Nghị quyết", "QUYẾT ĐỊNH": "Quyết định", "NGHỊ ĐỊNH": "Nghị định", "THÔNG TƯ": "Thông tư",
    "KẾ HOẠCH": "Kế hoạch", "CHỈ THỊ": "Chỉ thị", "CÔNG VĂN": "Công văn", "THÔNG BÁO": "Thông báo",
    "LUẬT": "Luật", "PHÁP LỆNH": "Pháp lệnh", "HƯỚNG DẪN": "Hướng dẫn", "CHƯƠNG TRÌNH": "Chương trình",
    "QUY ĐỊNH": "Quy định", "BÁO CÁO": "Báo cáo", "TỜ TRÌNH": "Tờ trình", "ĐỀ ÁN": "Đề án",
}
_NUMBER_KIND = {"NQ": "Nghị quyết", "QH": "Nghị quyết", "QĐ": "Quyết định", "NĐ": "Nghị định",
                "TT": "Thông tư", "KH": "Kế hoạch", "CT": "Chỉ thị", "TB": "Thông báo"}
_NUMBER = re.compile(r"Số\s*:?\s*([0-9]+[\w.]*/[\w./-]*[A-ZĐ][\w-]*)")
_TYPE_LINE = re.compile(r"^(" + "|".join(KINDS) + r")(?=$|[^\sA-ZĐÀ-Ỹ]|\s*$|[A-ZĐ][a-zà-ỹ])")
_STOPS_TITLE = re.compile(r"^(HỘI ĐỒNG NHÂN DÂN|ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN|CHỦ TỊCH|CHÍNH PHỦ|QUỐC HỘI|"
                          r"BỘ TRƯỞNG|KHÓA|KHOÁ|KỲ HỌP|Căn cứ|Kính gửi|Kính\b)")


@dataclass(frozen=True)
class DocInfo:
    kind: str  # "Nghị quyết"
    number: str  # "412/NQ-HĐND", "" when the copy does not print it
    title: str  # the title line(s) only: "Về nhiệm vụ phát triển kinh tế - xã hội năm 2024"

    @property
    def short(self) -> str:
        """'Nghị quyết 412/NQ-HĐND', or the kind and the title's first words when there is no number."""
        if self.number:
            return f"{self.kind} {self.number}".strip()
        words = self.title.split()
        head = " ".join(words[:8]) + (" …" if len(words) > 8 else "")
        return f"{self.kind} {head}".strip() or "văn bản"

    @property
    def display(self) -> str:
        return f"{self.short} — {self.title}" if self.number and self.title else self.short


def kind_of_number(number: str) -> str:
    """'412/NQ-HĐND' -> 'Nghị quyết'; '2853/QĐ-UBND' -> 'Quyết định'.

    >>> kind_of_number("412/NQ-HĐND"), kind_of_number("187/2025/QH15"), kind_of_number("x")
    ('Nghị quyết', 'Nghị quyết', '')
    """
    for part in re.split(r"[/-]", number)[1:]:
        for code, kind in _NUMBER_KIND.items():
            if part == code or re.fullmatch(rf"{code}\d*", part):
                return kind
    return ""


def _header_lines(text: str) -> list[str]:
    """The lines before the preamble or the first Điều (at most 40): where number, kind and title stand."""
    out = []
    for line in text.split("\n")[:60]:
        if re.match(r"^(Căn cứ|Thực hiện|Xét|QUYẾT NGHỊ|QUYẾT ĐỊNH\s*:|Điều\s+1\b|I\.\s)", line) or len(out) >= 40:
            break
        if line:
            out.append(line)
    return out


def describe(text: str, clauses: list[Clause], fallback: str = "") -> DocInfo:
    r"""Kind, number and title of a parsed document (``text`` is the cleaned text).

    >>> from index.parse import parse_clauses
    >>> text = ("Số: 12/QĐ-UBND\nQUYẾT ĐỊNH\nVề việc ban hành Kế hoạch\n"
    ...         "ỦY BAN NHÂN DÂN TỈNH\nCăn cứ Luật.\nQUYẾT ĐỊNH:\nĐiều 1. Ban hành.")
    >>> info = describe(text, parse_clauses(text))
    >>> info.short, info.title
    ('Quyết định 12/QĐ-UBND', 'Về việc ban hành Kế hoạch')
    """
    lines = _header_lines(text)
    text = "\n".join(lines)
    m = _NUMBER.search(text)
    number = m.group(1).rstrip(".") if m else ""
    if not number:  # a copy that lost its header may still name itself in an attachment's "kèm theo" line
        for c in clauses:
            if c.kind == "A":
                own = re.search(r"[Kk]èm\s+theo\s+\S+(?:\s+\S+)?\s+(?:số\s*:?\s*)?([0-9]+[\w.]*/[\w./-]*[A-ZĐ][\w-]*)", c.text)
                if own:
                    number = own.group(1)
                    break
    kind, title = "", ""
    for i, line in enumerate(lines):
        t = _TYPE_LINE.match(line)
        if not t:
            continue
        kind = KINDS[t.group(1)]
        rest = line[t.end():].strip()
        title_lines = [rest] if rest else []
        for nxt in lines[i + 1:]:
            if _STOPS_TITLE.match(nxt) or _NUMBER.search(nxt) or len(" ".join(title_lines).split()) > 60:
                break
            title_lines.append(nxt)
        title = " ".join(title_lines).strip()
        break
    kind = kind or kind_of_number(number)
    if not title and fallback:
        title = fallback
    return DocInfo(kind, number, title)
