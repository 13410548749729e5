"""Clean resolution text -> tree of clauses with stable ids (rules: index/CLAUSE_IDS.md).

Two ideas keep a real document's structure from collapsing:

* **Fit.** A plain number ("2.", "2.1.", "b)") is numbering only when it fits the numbering
  around it (the next in sequence at its level) and does not continue a wrapped sentence, so
  "8.318 tỷ đồng" and "- miệng" stay text.
* **Resynchronise.** A line that is confidently a heading ("Điều 7. …", "Chương III", an
  upper-case Roman section) opens its unit whatever its number, so one odd line costs at most
  its own clause. Gaps keep the printed number; a repeat gets a ``~2`` suffix; each is a warning.

Quoted amendments become units under the clause that quotes them, and documents attached after
the main one (Kế hoạch, Phụ lục …) are parts ``A1``, ``A2`` … of the tree. Numbering that cannot
be placed stays text, with a warning; an administrative text with no numbering at all is indexed
paragraph by paragraph. Only text that is no administrative document is refused (NoClausesError).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import NoClausesError

SCHEMA_VERSION = 2

VI_LETTERS = "abcdđeghiklmnopqrstuvxy"
LATIN_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

# Depth of each numbered level; deeper numbers nest inside shallower ones.
RANK = {"C": 0, "D": 1, "S": 2, "K": 3, "M": 4, "P": 5, "CT": 6, "B": 7, "B+": 8}
SECTION_KINDS = ("HEADER", "PREAMBLE", "BODY", "CLOSING", "A", "G")
SECTION_LABELS = {
    "HEADER": "phần tiêu đề",
    "PREAMBLE": "phần căn cứ",
    "BODY": "phần mở đầu",
    "CLOSING": "phần kết",
}

_UPPER = "A-ZĐÀ-ỸÂĂÊÔƠƯ"
_OPENQ = "“\"'"
_PATTERNS = [
    ("C", re.compile(r"^(Chương|CHƯƠNG)\s+([IVXLC]+|\d{1,2})(?![a-zà-ỹđ])\s*[.:\-–]?\s*(.*)$")),
    ("D", re.compile(r"^(Điều|ĐIỀU)\s+(\d{1,3})(?:\s*[.:]\s*(.*)|\s*()$)")),
    ("M", re.compile(r"^()(\d{1,2}(?:\.\d{1,2}){1,2})(?!\d)(\.?)\s*(.*)$")),
    ("K", re.compile(r"^()(\d{1,2})\.(?![\d.])\s*(.*)$")),
    ("S", re.compile(r"^()([IVXL]{1,6})\s*[.\-–]\s*(.*)$")),
    ("P", re.compile(r"^()([a-zđ])(?:\)|\.(?=\s+[A-ZĐÀ-Ỹ]))\s*(.*)$")),
    ("CT", re.compile(r"^\(()(\d{1,3})\)\s*(.*)$")),
    ("B", re.compile(r"^([-–—])\s*(?=\w)()(.*)$")),
    ("B+", re.compile(r"^(\+)\s*(?=\w)()(.*)$")),
]
_PREAMBLE_START = re.compile(r"^(Căn cứ|Thực hiện|Xét|Trên cơ sở|Sau khi)\b")
_DECIDES = re.compile(r"^QUYẾT\s+NGHỊ\s*:?\s*$|^QUYẾT\s+ĐỊNH\s*:\s*$")  # not the title "QUYẾT ĐỊNH"
_CLOSING_START = re.compile(r"^((Nghị quyết|Nghị định|Quyết định|Thông tư)( này)? đã được\b|"
                            r"Nghị quyết này được\b|Nơi nhận\s*:?$|Nơi nhận\s*:)")
_RECIPIENTS = re.compile(r"^Nơi nhận\s*:?")
# The signature block, when the copy lost "Nơi nhận": "KT. CHỦ TỊCH", "THỨ TRƯỞNG THƯỜNG TRỰC", or the
# recipients flattened into one line ("- Thủ tướng …; - Các bộ …; - HĐND …; - …").
_SIGNATURE = re.compile(r"^(TM|KT|TL|TUQ|Q)\.\s*[A-ZĐ]|^(PHÓ |)(CHỦ TỊCH|THỦ TƯỚNG|BỘ TRƯỞNG|THỨ TRƯỞNG|"
                        r"CHỦ NHIỆM|GIÁM ĐỐC|TỔNG KIỂM TOÁN|CHÁNH ÁN|VIỆN TRƯỞNG)( THƯỜNG TRỰC)?$")


def _starts_closing(line: str) -> bool:
    """The main document's closing: adoption formula, 'Nơi nhận', a signature title, a flattened recipients list.

    >>> _starts_closing("THỨ TRƯỞNG THƯỜNG TRỰC"), _starts_closing("- Bộ A; - Bộ B; - Sở C; - Lưu: VT.")
    (True, True)
    >>> _starts_closing("- Giao Sở Tài chính; Sở Nội vụ")
    False
    """
    return bool(_CLOSING_START.match(line) or _SIGNATURE.match(line)
                or (line.startswith("- ") and line.count("; - ") >= 3))
_ENDS_SENTENCE = re.compile(r"[.;:!?…]\s*[”\"')]?$")
_ENDS_CONTINUING = re.compile(r"[,;:]$")
_LONE_TOKEN = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,2}\.|[a-zđ]\)|[IVXL]{1,6}\.|\(\d{1,3}\)|[-+–])$")

# Attached documents: a heading naming a document type, then "(Ban hành) kèm theo …".
_ATTACH_NUMBERED = re.compile(r"^(Phụ lục|PHỤ LỤC)\s+([IVXL]+|\d{1,2}[a-z]?)\s*[.:]?\s*$")
_ATTACH_TYPE = re.compile(
    r"^(KẾ HOẠCH|CHƯƠNG TRÌNH|QUY ĐỊNH|QUY CHẾ|ĐỀ ÁN|HƯỚNG DẪN|PHỤ LỤC|DANH MỤC|ĐIỀU LỆ|"
    r"Phụ lục|Mẫu số|Mẫu biểu số|MẪU SỐ|MẪU BIỂU SỐ|Biểu số|BIỂU SỐ)(?![a-zà-ỹđ])")
_KEM_THEO = re.compile(r"^\(?\s*(Ban hành\s+)?[Kk]èm\s+theo\b|^\(\s*Ban hành|^\(\s*Kèm$")
_ATTACH_LOOKAHEAD = 8


@dataclass
class Clause:
    clause_id: str
    kind: str
    number: str = ""
    marker: str = ""
    title: str = ""
    text: str = ""
    label: str = ""
    parent: str | None = None
    children: list[str] = field(default_factory=list)

    @property
    def path(self) -> list[str]:
        """Ids from the root down to this clause."""
        parts = self.clause_id.split("/")
        return ["/".join(parts[: i + 1]) for i in range(len(parts))]

    def to_dict(self) -> dict:
        return {
            "clause_id": self.clause_id,
            "label": self.label,
            "title": self.title,
            "text": self.text,
            "marker": self.marker,
            "kind": self.kind,
            "parent": self.parent,
            "children": list(self.children),
        }


@dataclass(frozen=True)
class ParseWarning:
    """Something the parser resolved by a rule rather than by the numbering itself.

    ``line`` is 1-based in the cleaned text (``index.load.clean_text``).
    """

    line: int
    code: str  # gap | repeat | kept_as_text | unclosed_quote | implicit_attachment | no_structure
    detail: str

    _VI = {
        "gap": "số thứ tự nhảy cóc, giữ số in trong văn bản",
        "repeat": "số thứ tự bị lặp lại, mục sau được đánh dấu ~2",
        "kept_as_text": "dấu đánh số không khớp thứ tự, giữ làm nội dung",
        "unclosed_quote": "trích dẫn không có dấu đóng ngoặc kép",
        "implicit_attachment": "phần đánh số lại sau chữ ký được coi là văn bản kèm theo",
        "no_structure": "không thấy đánh số điều khoản; chia theo đoạn văn",
    }

    def message_vi(self) -> str:
        return f"Dòng {self.line}: {self._VI.get(self.code, self.code)} ({self.detail})"


@dataclass
class ParseResult:
    clauses: list[Clause]
    warnings: list[ParseWarning]


@dataclass
class _Open:
    """A clause being read: its lines, grouped in paragraphs."""

    clause: Clause
    paragraphs: list[list[str]] = field(default_factory=lambda: [[]])
    marker_alone: bool = False
    run: list[str] = field(default_factory=list)  # lines since the last '* ' sub-heading

    def add(self, line: str) -> None:
        if line.startswith("* "):
            self.run = []
        if line == "":
            if self.paragraphs[-1]:
                self.paragraphs.append([])
        else:
            self.paragraphs[-1].append(line)
            if self.run or line.startswith("* "):
                self.run.append(line)

    def words(self) -> int:
        return sum(len(line.split()) for para in self.paragraphs for line in para)

    def last_line(self) -> str:
        for para in reversed(self.paragraphs):
            if para:
                return para[-1]
        return ""

    def starts_with_subheading(self) -> bool:
        """The last paragraph is an unnumbered '* Phân theo lĩnh vực' sub-heading."""
        run = self.run
        return bool(run) and run[0].startswith("* ") and sum(len(l.split()) for l in run) <= 15

    def looks_like_heading(self) -> bool:
        """Short and unfinished: '1. Về hệ thống đô thị', '- Đến năm 2020:'."""
        last = self.last_line()
        return self.words() <= 15 and not _ENDS_CONTINUING.search(last.rstrip()) or last.endswith(":")


@dataclass
class _Frame:
    """One numbering context: the document, an attachment, or a quotation."""

    root: _Open | None
    stack: list[_Open] = field(default_factory=list)
    last: dict = field(default_factory=dict)  # (parent_id, kind) -> ordinal of the last number
    last_d: int = 0
    last_c: int = 0
    last_ct: int = 0
    quoted: bool = False
    balance: int = 0  # open quotation marks inside a quoted frame
    closing: bool = False  # inside "Nơi nhận" / signature: numbering is text

    @property
    def base(self) -> str:
        return self.root.clause.clause_id if self.root else ""


def roman_value(numeral: str) -> int:
    """'XIV' -> 14.

    >>> roman_value("XIV")
    14
    """
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        if i + 1 < len(numeral) and _ROMAN_VALUES[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


def _to_roman(n: int) -> str:
    out = ""
    for value, sym in ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"),
                       (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + sym, n - value
    return out


def _canonical_roman(numeral: str) -> bool:
    return bool(numeral) and _to_roman(roman_value(numeral)) == numeral


def _letter_ok(prev: str | None, letter: str) -> bool:
    """'đ' after 'd' (Vietnamese order) and 'f' after 'e' (Latin order) both continue a list."""
    if prev is None:
        return letter == "a"
    for alphabet in (VI_LETTERS, LATIN_LETTERS):
        if prev in alphabet and letter in alphabet and alphabet.index(letter) == alphabet.index(prev) + 1:
            return True
    return False


def _ordinal(kind: str, number: str) -> tuple:
    """Comparable position of a number in its sequence."""
    if kind == "S" or (kind == "C" and not number.isdigit()):
        return (roman_value(number),)
    if kind == "P":
        return (number,)
    if kind == "M":
        return tuple(int(p) for p in number.split("."))
    return (int(number),)


def _rank(kind: str, number: str, marker: str = "") -> float:
    if kind == "M":
        return RANK["M"] + 0.1 * (number.count(".") - 1)
    if kind == "B" and marker.lstrip(_OPENQ) == "+":
        return RANK["B+"]
    return RANK[kind]


def _own_label(clause: Clause) -> str:
    kind, number = clause.kind, clause.number
    if kind in SECTION_LABELS:
        return SECTION_LABELS[kind]
    return {
        "G": f"đoạn {number}",
        "C": f"Chương {number}",
        "D": f"Điều {number}",
        "S": f"phần {number}",
        "K": f"khoản {number}",
        "M": f"mục {number}",
        "P": f"điểm {number}",
        "CT": f"chỉ tiêu ({number})",
        "B": f"gạch đầu dòng thứ {number}",
    }[kind]


def _is_upper_heading(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 2 and sum(ch.isupper() for ch in letters) >= 0.6 * len(letters)


def match_marker(line: str) -> tuple[str, str, str, str] | None:
    """'3.5. Đẩy nhanh …' -> ('M', '3.5', '3.5.', 'Đẩy nhanh …').

    >>> match_marker("3.5. Đẩy nhanh tiến độ")
    ('M', '3.5', '3.5.', 'Đẩy nhanh tiến độ')
    >>> match_marker("1.Giấy đề nghị")[:2], match_marker("f) Nội dung")[:2]
    (('K', '1'), ('P', 'f'))
    >>> match_marker("Chương IICHÍNH SÁCH HỖ TRỢ")[:2], match_marker("8.318 tỷ đồng") is None
    (('C', 'II'), True)
    """
    for kind, pattern in _PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        if kind == "M":
            word, number, dot, rest = m.group(1), m.group(2), m.group(3), m.group(4)
        else:
            word, number, rest = m.group(1), m.group(2), m.group(3) or ""
        if kind == "C" and not number.isdigit():
            number, rest = _split_glued_roman(number, rest)
            if number is None:
                continue
        marker = line[: len(line) - len(rest)].strip() if rest else line.strip()
        starts_upper = bool(re.match(f"[{_UPPER}{_OPENQ}(]", rest[:1]))
        if kind in ("K", "M") and not starts_upper:
            continue
        if kind == "M" and not dot and not re.match(r"\s", line[len(m.group(2)):][:1] or "x"):
            continue
        if kind == "S" and rest and not starts_upper:
            continue
        if kind == "P" and not rest:
            continue
        if kind in ("B", "B+"):
            number = word
        return kind, number, marker, rest
    return None


def _split_glued_roman(numeral: str, rest: str) -> tuple[str | None, str]:
    """'IIC' + 'HÍNH SÁCH' (from 'Chương IICHÍNH SÁCH') -> ('II', 'CHÍNH SÁCH')."""
    if _canonical_roman(numeral) and not rest[:1].isalpha():
        return numeral, rest
    for cut in range(len(numeral), 0, -1):
        head, tail = numeral[:cut], numeral[cut:] + rest
        if _canonical_roman(head) and (not tail or not tail[:1].islower()):
            return head, tail
    return None, rest


def _prepare(lines: list[str]) -> list[str]:
    """Join what the source split: 'Điều' + '1. …', 'Phụ' + 'lục I', a lone '1.' + its text.

    >>> _prepare(["Điều", "2. Giao", "", "1.", "Mục đích", "c) Bãi bỏ Điều", "12.", "Chương", "II"])
    ['Điều 2. Giao', '', '1. Mục đích', 'c) Bãi bỏ Điều', '12.', 'Chương II']
    """
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        prev = out[-1] if out else ""
        if line in ("Điều", "ĐIỀU") and re.match(r"^\d+\s*[.:]|^\d+$", nxt) or (
                line in ("Chương", "CHƯƠNG") and re.match(r"^([IVXLC]+|\d{1,2})\b", nxt)):
            out.append(f"{line} {nxt}")
            i += 2
            continue
        one_word_wrap = (len(line.split()) == 1 and line[:1].isupper() and nxt[:1].islower()
                         and not match_marker(line) and not _LONE_TOKEN.match(line))
        if one_word_wrap or line in ("Phụ", "PHỤ") and re.match(r"^(lục|LỤC)\b", nxt):
            out.append(f"{line} {nxt}")
            i += 2
            continue
        if _LONE_TOKEN.match(line) and nxt and not match_marker(nxt) and (prev == "" or _ENDS_SENTENCE.search(prev)):
            if line in "-+–" or re.match(f"[{_UPPER}{_OPENQ}(]", nxt[:1]):
                out.append(f"{line} {nxt}")
                i += 2
                continue
        out.append(line)
        i += 1
    return out


def _attachment_starts(lines: list[str]) -> set[int]:
    """Indices of lines that head an attached document (rule 6 of CLAUSE_IDS.md)."""
    starts: set[int] = set()
    last_start, since = -1, 0  # a second type line in the same heading block is its title
    for i, line in enumerate(lines):
        if line:
            since += 1
        if _KEM_THEO.match(line):
            last_start = -1
        if last_start >= 0 and since <= _ATTACH_LOOKAHEAD:
            continue
        if _ATTACH_NUMBERED.match(line):
            starts.add(i)
            last_start, since = i, 0
            continue
        m = _ATTACH_TYPE.match(line)
        if not m or len(line.split()) > 16:
            continue
        if m.group(1)[0].islower() or m.group(1).startswith(("Mẫu", "Biểu")):
            pass  # "Phụ lục", "Mẫu số 01": need the "kèm theo" line like the capitals do
        elif not _is_upper_heading(line):
            continue
        window = [l for l in lines[i + 1:i + 1 + _ATTACH_LOOKAHEAD * 2] if l][:_ATTACH_LOOKAHEAD]
        if any(_KEM_THEO.match(l) for l in window):
            starts.add(i)
            last_start, since = i, 0
    return starts


class _Parser:
    def __init__(self) -> None:
        self.clauses: list[Clause] = []
        self.by_id: dict[str, Clause] = {}
        self.frames: list[_Frame] = [_Frame(None)]
        self.current: _Open | None = None
        self.numbered = 0
        self.opened: list[_Open] = []
        self.warnings: list[ParseWarning] = []
        self.attachments = 0
        self.lineno = 0

    @property
    def frame(self) -> _Frame:
        return self.frames[-1]

    def warn(self, code: str, detail: str) -> None:
        self.warnings.append(ParseWarning(self.lineno, code, detail))

    # -- building -------------------------------------------------------
    def open(self, clause: Clause) -> _Open:
        base, n = clause.clause_id, 2
        while clause.clause_id in self.by_id:  # a repeated number must not collide
            clause.clause_id = f"{base}~{n}"
            n += 1
        self.clauses.append(clause)
        self.by_id[clause.clause_id] = clause
        if clause.parent:
            self.by_id[clause.parent].children.append(clause.clause_id)
        opened = _Open(clause)
        self.opened.append(opened)
        self.current = opened
        return opened

    def open_section(self, kind: str) -> None:
        self.frames = [_Frame(None)]
        self.open(Clause(clause_id=kind, kind=kind))

    def open_attachment(self, heading: str) -> None:
        self.attachments += 1
        n = str(self.attachments)
        opened = self.open(Clause(clause_id=f"A{n}", kind="A", number=n))
        self.frames = [_Frame(opened)]
        opened.add(heading)

    def open_attachment_closing(self) -> None:
        root = self.frames[0].root
        opened = self.open(Clause(clause_id=f"{root.clause.clause_id}/CLOSING", kind="CLOSING",
                                  parent=root.clause.clause_id))
        self.frames = [_Frame(root, closing=True)]
        self.current = opened

    def open_quote(self) -> None:
        self.frames.append(_Frame(self.current, quoted=True))

    def close_frames_to_root(self) -> None:
        if len(self.frames) > 1:
            self.warn("unclosed_quote", "đóng tại ranh giới phần")
        self.frames = self.frames[:1]

    # -- numbering ------------------------------------------------------
    def try_marker(self, line: str, prev_line: str) -> bool:
        frame = self.frame
        quote = ""
        body = line
        if frame.quoted and line[:1] in _OPENQ:
            quote, body = line[0], line[1:].lstrip()
        found = match_marker(body)
        if not found:
            return False
        kind, number, marker, rest = found
        marker = quote + marker
        if frame.closing:
            return False  # recipients' dashes and signatures are not clauses
        rank = _rank(kind, number, marker)
        depth = len(frame.stack)
        while depth and _rank(*self._kind_number_marker(frame, depth - 1)) >= rank:
            depth -= 1
        parent_open = frame.stack[depth - 1] if depth else frame.root
        parent = parent_open.clause if parent_open else None
        parent_id = parent.clause_id if parent else None
        if kind in ("B", "B+"):
            if not self._dash_context_ok(prev_line, rest):
                return False
            number = str(sum(1 for c in (parent.children if parent else []) if self.by_id[c].kind == "B") + 1)
            kind_for_id = "B"
        else:
            verdict = self._fits(frame, kind, number, parent_id, rest, prev_line)
            if verdict is None:
                return False
            if verdict:
                self.warn(verdict, f"“{marker}” trong {parent.clause_id}" if parent else f"“{marker}”")
            kind_for_id = kind
        self._commit_number(frame, kind, number, parent_id)
        frame.stack = frame.stack[:depth]
        segment = f"B{number}" if kind_for_id == "B" else f"{kind}{number}"
        clause_id = f"{parent_id}/{segment}" if parent_id else segment
        clause = Clause(clause_id=clause_id, kind=kind_for_id, number=number, marker=marker, parent=parent_id)
        opened = self.open(clause)
        if clause.clause_id != clause_id and verdict != "repeat" and kind_for_id != "B":
            self.warn("repeat", f"“{marker}” lặp lại, giữ là {clause.clause_id}")
        opened.marker_alone = not rest
        if rest:
            opened.add(rest)
        frame.stack.append(opened)
        if kind not in ("B", "B+"):
            self.numbered += 1
        return True

    def _kind_number_marker(self, frame: _Frame, i: int) -> tuple[str, str, str]:
        clause = frame.stack[i].clause
        return clause.kind, clause.number, clause.marker

    def _dash_context_ok(self, prev_line: str, rest: str) -> bool:
        """A dash opens a bullet after a finished sentence or a heading; an upper-case one also
        after an unfinished line when it continues a list of bullets or follows a long heading
        ('- Về cấp nước: …'), while a wrapped '- miệng' or '- 06%/năm' stays text."""
        if prev_line == "" or _ENDS_SENTENCE.search(prev_line):
            return True
        current = self.current
        if current is None:
            return False
        if current.looks_like_heading() or current.starts_with_subheading():
            return True
        if not re.match(f"[{_UPPER}]", rest[:1]):
            return False
        return current.clause.kind == "B" or (
            current.words() <= 40 and not re.search(r"[.;!?…](\s|$)", " ".join(sum(current.paragraphs, []))))

    def _fits(self, frame: _Frame, kind: str, number: str, parent_id: str | None, rest: str,
              prev_line: str) -> str | None:
        """'' when the number continues its sequence, a warning code when a confident heading
        resynchronises the sequence, None when the line is text."""
        pos = _ordinal(kind, number)
        after_break = prev_line == "" or bool(_ENDS_SENTENCE.search(prev_line)) or (
            self.current is not None and self.current.looks_like_heading())
        if kind == "D":
            if frame.last_d == 0 or pos[0] == frame.last_d + 1:
                return ""
            if not after_break:
                return None
            return "repeat" if pos[0] <= frame.last_d else "gap"
        if kind == "C":
            if frame.last_c == 0 or pos[0] == frame.last_c + 1:
                return ""
            return ("repeat" if pos[0] <= frame.last_c else "gap") if after_break else None
        if kind == "CT":
            return "" if pos[0] in (1, frame.last_ct + 1) else None
        previous = frame.last.get((parent_id, kind))
        if kind == "P":
            if previous is None and frame.quoted:
                return ""
            if _letter_ok(previous[0] if previous else None, number):
                return ""
            skipped = previous and any(_letter_ok(previous[0], mid) and _letter_ok(mid, number) for mid in LATIN_LETTERS + "đ")
            return "gap" if skipped and after_break and re.match(f"[{_UPPER}]", rest[:1]) else None
        if kind == "M":
            if previous is None:
                return "" if pos[-1] == 1 or frame.quoted else None
            return "" if pos[:-1] == previous[:-1] and pos[-1] == previous[-1] + 1 else None
        if previous is None:
            if pos[0] == 1 or frame.quoted:
                return ""
            if kind == "S" and after_break and _is_upper_heading(rest):
                return "gap"
            return None
        if pos[0] == previous[0] + 1:
            return ""
        if kind == "S" and after_break and _is_upper_heading(rest):
            return "repeat" if pos[0] <= previous[0] else "gap"
        if kind == "K" and after_break and previous[0] + 1 < pos[0] <= previous[0] + 2:
            return "gap"
        return None

    def _commit_number(self, frame: _Frame, kind: str, number: str, parent_id: str | None) -> None:
        if kind == "D":
            frame.last_d = int(number)
        elif kind == "C":
            frame.last_c = _ordinal(kind, number)[0]
        elif kind == "CT":
            frame.last_ct = int(number)
        elif kind not in ("B", "B+"):
            frame.last[(parent_id, kind)] = _ordinal(kind, number)


def _quote_balance(line: str) -> int:
    return line.count("“") - line.count("”")


def parse_document(text: str) -> ParseResult:
    """Parse cleaned text (see index.load.clean_text) into clauses in document order, with warnings."""
    lines = _prepare(text.split("\n"))
    decides = next((i for i, l in enumerate(lines) if _DECIDES.match(l)), None)
    limit = decides if decides is not None else len(lines)
    preamble = next((i for i, l in enumerate(lines[:limit]) if _PREAMBLE_START.match(l)), None)
    attach = _attachment_starts(lines)

    p = _Parser()
    body_from = 0
    if preamble is not None or decides is not None:
        header_end = preamble if preamble is not None else decides
        if any(lines[:header_end]):
            p.open_section("HEADER")
            for line in lines[:header_end]:
                p.current.add(line)
        if preamble is not None:
            p.open_section("PREAMBLE")
            end = decides + 1 if decides is not None else preamble
            if decides is None:  # no QUYẾT NGHỊ: the preamble runs to the first numbering
                end = next((i for i in range(preamble, len(lines)) if _starts_body(lines, i)), len(lines))
            for line in lines[preamble:end]:
                p.current.add(line)
            body_from = end
        else:
            if p.current is not None:
                p.current.add(lines[decides])
            body_from = decides + 1

    p.current = None  # prose right after QUYẾT NGHỊ is its own unit (BODY)
    main_closing = False
    prev_line = ""
    for i in range(body_from, len(lines)):
        line = lines[i]
        p.lineno = i + 1
        frame = p.frame
        if line and i in attach and (p.clauses and p.clauses[-1].kind != "HEADER" or p.numbered):
            p.close_frames_to_root()
            p.open_attachment(line)
            main_closing = False
            prev_line = line
            continue
        in_attachment = p.frames[0].root is not None
        if frame.quoted:
            frame.balance += _quote_balance(line)
        if line and not main_closing and not in_attachment and _starts_closing(line):
            p.close_frames_to_root()
            p.open_section("CLOSING")
            main_closing = True
            p.frames[0].closing = True
        elif line and in_attachment and not p.frames[0].closing and _RECIPIENTS.match(line) \
                and len(p.frames) == 1:
            p.open_attachment_closing()
        elif line and main_closing and _restarts_numbering(line):
            p.warn("implicit_attachment", f"“{line[:40]}”")
            _implicit_attachment(p, line)
            main_closing = False
            prev_line = line
            continue
        elif line and not frame.quoted and line[:1] == "“" and p.current is not None and (
                p.current.last_line().endswith(":") or match_marker(line[1:].lstrip()) is not None):
            p.open_quote()
            p.frame.balance = _quote_balance(line)
            if not p.try_marker(line, ""):
                p.current.add(line)
            if p.frame.balance <= 0:
                p.frames.pop()
            prev_line = line
            continue
        elif line and frame.quoted and _resumes_outer(p, line, prev_line):
            p.warn("unclosed_quote", f"đóng trước “{line[:20]}”")
            p.frames = p.frames[:-1]
            p.try_marker(line, prev_line)
            prev_line = line
            continue
        elif line and p.try_marker(line, prev_line):
            if p.frame.quoted and p.frame.balance <= 0:
                p.frames.pop()
            prev_line = line
            continue
        elif line and p.current is None:
            p.open_section("BODY")
        if p.current is not None:
            p.current.add(line)
        if frame.quoted and frame.balance <= 0 and p.frames[-1] is frame:
            p.frames.pop()
        prev_line = line
    if len(p.frames) > 1:
        p.warn("unclosed_quote", "còn mở đến cuối văn bản")

    if p.numbered == 0 and not any(c.kind == "B" for c in p.clauses):
        if not _administrative(lines):
            raise NoClausesError(
                "no numbering and nothing of an administrative document (number, preamble, type line)",
                "Không nhận ra văn bản hành chính: không có số hiệu, căn cứ hay điều khoản nào.",
            )
        _paragraphs(p, lines, body_from)
    _finish(p)
    return ParseResult(p.clauses, p.warnings)


def parse_clauses(text: str) -> list[Clause]:
    """Parse cleaned text into clauses in document order (see ``parse_document`` for warnings)."""
    return parse_document(text).clauses


def _resumes_outer(p: _Parser, line: str, prev_line: str) -> bool:
    """Inside a quotation that never closed: the next Điều of the quoting document ends it."""
    found = match_marker(line)
    if not found or found[0] != "D" or line[:1] in _OPENQ:
        return False
    outer = p.frames[-2]
    return outer.last_d > 0 and int(found[1]) == outer.last_d + 1 and (
        prev_line == "" or bool(_ENDS_SENTENCE.search(prev_line)))


def _starts_body(lines: list[str], i: int) -> bool:
    """The first numbered unit after a preamble with no QUYẾT NGHỊ; a wrapped '- 2025”;' is not it."""
    found = match_marker(lines[i])
    if not found:
        return False
    prev = next((l for l in reversed(lines[:i]) if l), "")
    return found[0] not in ("B", "B+") or prev.endswith(":")


_ADMIN_SIGNS = re.compile(r"^(Số\s*:?\s*\d+[\w.]*/|Căn cứ\b|QUYẾT NGHỊ|QUYẾT ĐỊNH|NGHỊ QUYẾT|THÔNG BÁO|KẾ HOẠCH|"
                          r"CHỈ THỊ|CÔNG VĂN|BÁO CÁO|TỜ TRÌNH|CỘNG HÒA XÃ HỘI CHỦ NGHĨA|Kính gửi|Nơi nhận)")


def _administrative(lines: list[str]) -> bool:
    """Does unnumbered text still look like an administrative document (worth indexing by paragraph)?"""
    return sum(1 for line in lines if _ADMIN_SIGNS.match(line)) >= 1


def _restarts_numbering(line: str) -> bool:
    found = match_marker(line)
    return bool(found) and found[0] in ("S", "C", "D") and _ordinal(found[0], found[1]) == (1,)


def _implicit_attachment(p: _Parser, line: str) -> None:
    """'I. …' after the signature with no heading of its own: an attached document all the same."""
    p.attachments += 1
    n = str(p.attachments)
    opened = p.open(Clause(clause_id=f"A{n}", kind="A", number=n))
    p.frames = [_Frame(opened)]
    p.try_marker(line, "")


def _paragraphs(p: _Parser, lines: list[str], body_from: int) -> None:
    """No numbering anywhere: one unit per paragraph after the header and preamble (G1, G2 …)."""
    keep = [c for c in p.clauses if c.kind in ("HEADER", "PREAMBLE")]
    p.clauses, p.by_id = [], {}
    p.opened = [o for o in p.opened if o.clause in keep]
    for c in keep:
        p.clauses.append(c)
        p.by_id[c.clause_id] = c
    p.lineno = body_from + 1
    p.warn("no_structure", "lập chỉ mục theo đoạn")
    n, opened = 0, None
    for line in lines[body_from:]:
        if line == "":
            opened = None
            continue
        if opened is None:
            n += 1
            opened = p.open(Clause(clause_id=f"G{n}", kind="G", number=str(n)))
        opened.add(line)


def _attachment_name(clause: Clause, text: str, main_number: str) -> str:
    """'PHỤ LỤC II' -> 'Phụ lục II'; 'KẾ HOẠCH …' -> 'Kế hoạch ban hành kèm theo Quyết định 12/QĐ-UBND'."""
    first = text.split("\n")[0]
    m = _ATTACH_NUMBERED.match(first) or _ATTACH_TYPE.match(first)
    if not m:
        return f"văn bản kèm theo thứ {clause.number}"
    own = re.search(r"[Kk]èm\s+theo\s+(Nghị quyết|Quyết định|Kế hoạch|Nghị định|Thông tư|Chỉ thị)\s+(?:số\s*:?\s*)?"
                    r"([0-9]+[\w.]*/[\w./-]*[A-ZĐ][\w-]*)", text)
    if own:  # the attachment's own "(Kèm theo Nghị quyết số 124/2017/NQ-HĐND …)" names its parent best
        main_number = f"{own.group(1)} {own.group(2)}"
    name = m.group(0).strip().rstrip(".:")
    name = name[:1].upper() + name[1:].lower() if name.isupper() else name
    return f"{name} kèm theo {main_number}" if main_number else name


def _main_number(p: _Parser) -> str:
    """'Số: 2853/QĐ-UBND' in the header -> 'Quyết định 2853/QĐ-UBND' (the kind from the number)."""
    header = p.by_id.get("HEADER")
    if header is None:
        return ""
    m = re.search(r"Số\s*:?\s*([0-9]+[\w.]*/[\w./-]*[A-ZĐ][\w-]*)", header.text)
    if not m:
        return ""
    number = m.group(1)
    kinds = {"NQ": "Nghị quyết", "QĐ": "Quyết định", "KH": "Kế hoạch", "NĐ": "Nghị định", "TT": "Thông tư",
             "QH": "Nghị quyết", "CT": "Chỉ thị"}
    kind = next((v for k, v in kinds.items() if re.search(rf"(^|/){k}(-|$|/)", number.split("/", 1)[1])), "")
    return f"{kind} {number}".strip()


def _finish(p: _Parser) -> None:
    for opened in p.opened:
        clause = opened.clause
        paragraphs = [" ".join(para) for para in opened.paragraphs if para]
        title, paragraphs = _split_title(clause, opened, paragraphs)
        clause.title = title
        clause.text = "\n".join(paragraphs)
    main_number = _main_number(p)
    names = {c.clause_id: _attachment_name(c, c.text, main_number) for c in p.clauses if c.kind == "A"}
    for clause in p.clauses:
        chain = []
        cid: str | None = clause.clause_id
        while cid is not None:
            node = p.by_id[cid]
            chain.append(names.get(cid) or _own_label(node))
            cid = node.parent
        clause.label = ", ".join(chain)


def _split_title(clause: Clause, opened: _Open, paragraphs: list[str]) -> tuple[str, list[str]]:
    """A short unfinished first line followed by more content is a heading."""
    if clause.kind in SECTION_KINDS or clause.kind in ("B", "CT") or not paragraphs:
        return "", paragraphs
    has_more = len(paragraphs) > 1 or bool(clause.children)
    first = paragraphs[0]
    if has_more and len(first.split()) <= 20 and not re.search(r"[.;,:!?…]$", first):
        return first, paragraphs[1:]
    # Hard-wrapped source: "IV." alone, then a short heading line, then the body.
    lines = opened.paragraphs[0]
    if opened.marker_alone and len(lines) > 1 and len(lines[0].split()) <= 15:
        if not re.search(r"[.;,:!?…]$", lines[0]) and lines[1][:1].isupper():
            return lines[0], [" ".join(lines[1:])] + paragraphs[1:]
    return "", paragraphs
