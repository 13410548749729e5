"""Clean resolution text -> tree of clauses with stable ids (see CLAUSE_IDS.md).

A line is numbering only when it fits the numbering around it: the next number
in sequence at its level, and (for dashes) not the tail of a wrapped sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.errors import NoClausesError

SCHEMA_VERSION = 1

VI_LETTERS = "abcdđeghiklmnopqrstuvxy"
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}

# Depth of each numbered level; deeper numbers nest inside shallower ones.
RANK = {"C": 0, "D": 1, "S": 2, "K": 3, "M": 4, "P": 5, "CT": 6, "B": 7, "B+": 8}
SECTION_KINDS = ("HEADER", "PREAMBLE", "BODY", "CLOSING")
SECTION_LABELS = {
    "HEADER": "phần tiêu đề",
    "PREAMBLE": "phần căn cứ",
    "BODY": "phần mở đầu",
    "CLOSING": "phần kết",
}

_PATTERNS = [
    ("C", re.compile(r"^(Chương)\s+([IVXLC]+|\d+)\b\.?\s*(.*)$")),
    ("D", re.compile(r"^(Điều)\s+(\d{1,3})\s*[.:]\s*(.*)$")),
    ("M", re.compile(r"^()(\d{1,2}(?:\.\d{1,2}){1,2})\.?\s+(.*)$")),
    ("K", re.compile(r"^()(\d{1,2})\.\s+(.*)$")),
    ("S", re.compile(r"^()([IVXL]{1,6})\s*[.\-–]\s*(.*)$")),
    ("P", re.compile(r"^()([a-zđ])\)\s*(.*)$")),
    ("CT", re.compile(r"^\(()(\d{1,3})\)\s*(.*)$")),
    ("B", re.compile(r"^([-–—])\s*(?=\w)()(.*)$")),
    ("B+", re.compile(r"^(\+)\s*(?=\w)()(.*)$")),
]
_PREAMBLE_START = re.compile(r"^(Căn cứ|Thực hiện|Xét|Trên cơ sở|Sau khi)\b")
_QUYET_NGHI = re.compile(r"^QUYẾT\s+NGHỊ\s*:?\s*$")
_CLOSING_START = re.compile(r"^(Nghị quyết này (đã )?được\b|Nơi nhận\s*:)")
_ENDS_SENTENCE = re.compile(r"[.;:!?…]\s*[”\"')]?$")
_ENDS_CONTINUING = re.compile(r"[,;:]$")


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


@dataclass
class _Open:
    """A clause being read: its lines, grouped in paragraphs."""

    clause: Clause
    paragraphs: list[list[str]] = field(default_factory=lambda: [[]])
    marker_alone: bool = False

    def add(self, line: str) -> None:
        if line == "":
            if self.paragraphs[-1]:
                self.paragraphs.append([])
        else:
            self.paragraphs[-1].append(line)

    def words(self) -> int:
        return sum(len(line.split()) for para in self.paragraphs for line in para)

    def last_line(self) -> str:
        for para in reversed(self.paragraphs):
            if para:
                return para[-1]
        return ""

    def looks_like_heading(self) -> bool:
        """Short and unfinished: '1. Về hệ thống đô thị', '- Đến năm 2020:'."""
        last = self.last_line()
        return self.words() <= 15 and not _ENDS_CONTINUING.search(last.rstrip()) or last.endswith(":")


def roman_value(numeral: str) -> int:
    total = 0
    for i, ch in enumerate(numeral):
        value = _ROMAN_VALUES[ch]
        if i + 1 < len(numeral) and _ROMAN_VALUES[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


def _ordinal(kind: str, number: str) -> tuple:
    """Comparable position of a number in its sequence."""
    if kind == "S" or (kind == "C" and not number.isdigit()):
        return (roman_value(number),)
    if kind == "P":
        return (VI_LETTERS.index(number) + 1,)
    if kind == "M":
        return tuple(int(p) for p in number.split("."))
    return (int(number),)


def _rank(kind: str, number: str, marker: str = "") -> float:
    if kind == "M":
        return RANK["M"] + 0.1 * (number.count(".") - 1)
    if kind == "B" and marker == "+":
        return RANK["B+"]
    return RANK[kind]


def _segment(kind: str, number: str) -> str:
    return {"C": "C", "D": "D", "S": "S", "K": "K", "M": "M", "P": "P", "CT": "CT"}[kind] + number


def _own_label(clause: Clause) -> str:
    kind, number = clause.kind, clause.number
    if kind in SECTION_LABELS:
        return SECTION_LABELS[kind]
    return {
        "C": f"Chương {number}",
        "D": f"Điều {number}",
        "S": f"phần {number}",
        "K": f"khoản {number}",
        "M": f"mục {number}",
        "P": f"điểm {number}",
        "CT": f"chỉ tiêu ({number})",
        "B": f"gạch đầu dòng thứ {number}",
    }[kind]


def match_marker(line: str) -> tuple[str, str, str, str] | None:
    """'3.5. Đẩy nhanh …' -> ('M', '3.5', '3.5.', 'Đẩy nhanh …')."""
    for kind, pattern in _PATTERNS:
        m = pattern.match(line)
        if not m:
            continue
        word, number, rest = m.group(1), m.group(2), m.group(3)
        marker = line[: len(line) - len(rest)].strip() if rest else line.strip()
        if kind in ("K", "M") and not rest[:1].isupper() and rest[:1] not in "(“\"":
            continue
        if kind == "M" and not marker.endswith(".") and not rest[:1].isupper():
            continue
        if kind == "S" and rest and not (rest[:1].isupper() or rest[:1] in "(“\""):
            continue
        if kind == "P" and not rest:
            continue
        if kind in ("B", "B+"):
            number = word
        return kind, number, marker, rest
    return None


class _Parser:
    def __init__(self) -> None:
        self.clauses: list[Clause] = []
        self.by_id: dict[str, Clause] = {}
        self.stack: list[_Open] = []  # open numbered clauses, outermost first
        self.current: _Open | None = None
        self.last_number: dict[tuple[str | None, str], tuple] = {}
        self.last_ct: int = 0
        self.last_d: int = 0
        self.numbered = 0
        self.opened: list[_Open] = []

    # -- building -------------------------------------------------------
    def open(self, clause: Clause) -> _Open:
        base, n = clause.clause_id, 2
        while clause.clause_id in self.by_id:  # a restarted list must not collide
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
        self.stack = []
        self.open(Clause(clause_id=kind, kind=kind))

    # -- numbering ------------------------------------------------------
    def try_marker(self, line: str, prev_line: str, in_closing: bool) -> bool:
        found = match_marker(line)
        if not found:
            return False
        kind, number, marker, rest = found
        if in_closing and not (kind in ("S", "C", "D") and _ordinal(kind, number) == (1,)):
            return False  # recipients' dashes and signatures are not clauses
        rank = _rank(kind, number, marker)
        depth = len(self.stack)
        while depth and _rank(*self._kind_number_marker(depth - 1)) >= rank:
            depth -= 1
        parent = self.stack[depth - 1].clause if depth else None
        parent_id = parent.clause_id if parent else None
        if kind in ("B", "B+"):
            if not self._dash_context_ok(prev_line):
                return False
            number = str(sum(1 for c in (parent.children if parent else []) if self.by_id[c].kind == "B") + 1)
            kind_for_id = "B"
        else:
            if not self._in_sequence(kind, number, parent_id, parent):
                return False
            kind_for_id = kind
        self._commit_number(kind, number, parent_id)
        self.stack = self.stack[:depth]
        segment = f"B{number}" if kind_for_id == "B" else _segment(kind, number)
        clause_id = f"{parent_id}/{segment}" if parent_id else segment
        clause = Clause(clause_id=clause_id, kind=kind_for_id, number=number, marker=marker, parent=parent_id)
        opened = self.open(clause)
        opened.marker_alone = not rest
        if rest:
            opened.add(rest)
        self.stack.append(opened)
        if kind not in ("B", "B+"):
            self.numbered += 1
        return True

    def _kind_number_marker(self, i: int) -> tuple[str, str, str]:
        clause = self.stack[i].clause
        return clause.kind, clause.number, clause.marker

    def _dash_context_ok(self, prev_line: str) -> bool:
        if prev_line == "" or _ENDS_SENTENCE.search(prev_line):
            return True
        return self.current is not None and self.current.looks_like_heading()

    def _in_sequence(self, kind: str, number: str, parent_id: str | None, parent: Clause | None) -> bool:
        pos = _ordinal(kind, number)
        if kind == "D":
            return self.last_d == 0 or pos[0] == self.last_d + 1
        if kind == "CT":
            return pos[0] in (1, self.last_ct + 1)
        previous = self.last_number.get((parent_id, kind))
        if kind == "M":
            if previous is None:
                return pos[-1] == 1
            return pos[:-1] == previous[:-1] and pos[-1] == previous[-1] + 1
        if previous is None:
            return pos[0] == 1
        return pos[0] == previous[0] + 1

    def _commit_number(self, kind: str, number: str, parent_id: str | None) -> None:
        if kind == "D":
            self.last_d = int(number)
        elif kind == "CT":
            self.last_ct = int(number)
        elif kind not in ("B", "B+"):
            self.last_number[(parent_id, kind)] = _ordinal(kind, number)


def parse_clauses(text: str) -> list[Clause]:
    """Parse cleaned text (see index.load.clean_text) into clauses in document order."""
    lines = _join_lone_dieu(text.split("\n"))
    quyet = next((i for i, l in enumerate(lines) if _QUYET_NGHI.match(l)), None)
    limit = quyet if quyet is not None else len(lines)
    preamble = next((i for i, l in enumerate(lines[:limit]) if _PREAMBLE_START.match(l)), None)

    p = _Parser()
    body_from = 0
    if preamble is not None or quyet is not None:
        header_end = preamble if preamble is not None else quyet
        if any(lines[:header_end]):
            p.open_section("HEADER")
            for line in lines[:header_end]:
                p.current.add(line)
        if preamble is not None:
            p.open_section("PREAMBLE")
            end = quyet + 1 if quyet is not None else preamble
            if quyet is None:  # no QUYẾT NGHỊ: the preamble runs to the first numbering
                end = next((i for i in range(preamble, len(lines)) if match_marker(lines[i])), len(lines))
            for line in lines[preamble:end]:
                p.current.add(line)
            body_from = end
        else:
            if p.current is not None:
                p.current.add(lines[quyet])
            body_from = quyet + 1

    p.current = None  # prose right after QUYẾT NGHỊ is its own unit (BODY)
    in_closing = False
    prev_line = ""
    for line in lines[body_from:]:
        if line and not in_closing and _CLOSING_START.match(line):
            p.open_section("CLOSING")
            in_closing = True
        elif line and p.try_marker(line, prev_line, in_closing):
            in_closing = False
            prev_line = line
            continue
        elif line and p.current is None:
            p.open_section("BODY")
        if p.current is not None:
            p.current.add(line)
        prev_line = line

    if p.numbered == 0 and quyet is None:
        raise NoClausesError(
            "no recognisable clauses (no Điều, numbered items or QUYẾT NGHỊ)",
            "Không nhận ra cấu trúc điều khoản nào trong văn bản.",
        )
    _finish(p)
    return p.clauses


def _join_lone_dieu(lines: list[str]) -> list[str]:
    """'Điều' + '1. Thống nhất' -> 'Điều 1. Thống nhất'."""
    out: list[str] = []
    skip = False
    for i, line in enumerate(lines):
        if skip:
            skip = False
            continue
        if line in ("Điều", "ĐIỀU") and i + 1 < len(lines) and re.match(r"^\d+\s*[.:]", lines[i + 1]):
            out.append(f"{line} {lines[i + 1]}")
            skip = True
        else:
            out.append(line)
    return out


def _finish(p: _Parser) -> None:
    for opened in p.opened:
        clause = opened.clause
        paragraphs = [" ".join(para) for para in opened.paragraphs if para]
        title, paragraphs = _split_title(clause, opened, paragraphs)
        clause.title = title
        clause.text = "\n".join(paragraphs)
    for clause in p.clauses:
        chain = []
        cid: str | None = clause.clause_id
        while cid is not None:
            node = p.by_id[cid]
            chain.append(_own_label(node))
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
