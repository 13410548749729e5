"""The numbered targets ("chỉ tiêu") of a resolution, read from its clause list.

A pure function over the clauses of the index: no model, no I/O. Every text
field is quoted verbatim from the resolution; the 2023 result is only filled in
when one sentence (or one ';'-part of a sentence) of Điều 1 clearly names the
same indicator — an empty cell is better than a wrong one.

>>> rows = parse_targets(clauses)                     # doctest: +SKIP
>>> rows[0].indicator, rows[0].target_2024              # doctest: +SKIP
('Tổng sản phẩm trên địa bàn tính theo giá so sánh (GRDP)', 'tăng 7,5-8%, phân đầu trên 8%')
"""
from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import asdict, dataclass

# Where Điều 1 reports on the past year: "Kết quả chủ yếu", "Tồn tại, hạn chế".
RESULT_CLAUSES = ("D1/K1", "D1/K2")

# A figure: "7,5-8%", "32.823", "2,45", "01". "1 ha" / "1ha" is a unit ("per hectare"), not a figure.
_FIGURE = re.compile(r"(?<![\w/])\d+(?:[.,]\d+)*(?:\s*-\s*\d+(?:[.,]\d+)*)?\s*%?(?!\s*ha\b)(?![\w.,]*\d)")
_LEVEL = re.compile(r"(?:đạt|là|giảm còn)?\s*(\d+(?:,\d+)?)\s*%(?![\w-])(?!\s*-)")
# Words that join an indicator to its figure: "tăng 8%", "giảm còn 0,71%", "đạt 46%", "dưới 1%".
_TRAILING = re.compile(
    r"(?:\s*(?:[:\-–]|tăng|giảm còn|giảm|đạt|là|ở mức|bằng|còn|khoảng|dưới|trên|tối thiểu|ít nhất|cho))+\s*$",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ0-9])|\n+")
# Parts of one sentence: ';' separates indicators, and so does ", tỷ lệ …" inside a list.
_PART = re.compile(r";\s*|,\s+(?=tỷ lệ\s)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Too common in indicator names to tell two indicators apart on their own.
_STOP = frozenset(
    "và của các là có được cho với trong theo về những này đó trên dưới đạt tăng giảm còn năm "
    "tỷ tỉ lệ tổng mức toàn tỉnh bình quân chỉ thêm ước khoảng".split()
)
# Qualifiers that every figure of the resolution shares; they do not name an indicator.
_QUALIFIERS = re.compile(r"(?:tính\s+)?theo giá so sánh|trên địa bàn(?: tỉnh)?|năm 20\d\d")
# A target to stay below or to bring down ("giảm còn 0,71%", "dưới 1%", "không quá 2%"): lower is better.
_LOWER = re.compile(r"^(?:giảm|dưới|không quá|không vượt quá|tối đa|kiềm chế)\b", re.IGNORECASE)
MIN_SCORE = 0.6  # share of the indicator's (weighted) key words the sentence must contain
MIN_MARGIN = 0.15  # and by how much it must beat the next best sentence


@dataclass
class Target:
    number: int
    clause_id: str
    label: str
    doc: str
    area: str  # the mục title, e.g. "Về kinh tế"
    indicator: str  # the text up to the first figure, without its joining verb
    target_2024: str  # the rest of the clause, verbatim
    result_2023: str = ""  # a verbatim sentence (or ';'-part) of Điều 1, or ""
    result_clause_id: str = ""  # where result_2023 was found
    text: str = ""  # the whole clause text, verbatim

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def percent(self) -> float | None:
        """The 2024 level as a number when the target is a plain percentage right after the indicator.

        'đạt 46%' -> 46.0, 'giảm còn 0,71%' -> 0.71, '100% xã …' -> 100.0; growth rates
        ('tăng 8%'), ranges, ceilings ('dưới 1%') and shares of a whole ('Cơ cấu …: … 63%')
        give None, so that only comparable figures share one chart.
        """
        m = _LEVEL.match(self.target_2024)
        return float(m.group(1).replace(",", ".")) if m else None

    @property
    def lower_is_better(self) -> bool:
        """A target to bring down or stay under, so that a chart does not read it as one to reach.

        >>> Target(15, "x", "x", "d", "", "Tỷ lệ hộ nghèo", "giảm còn 0,71%").lower_is_better
        True
        >>> Target(21, "x", "x", "d", "", "Tỷ lệ đô thị hóa", "đạt 46%").lower_is_better
        False
        """
        return bool(_LOWER.match(self.target_2024.strip()))


def split_indicator(text: str) -> tuple[str, str]:
    """'Tỷ lệ hộ nghèo giảm còn 0,71%.' -> ('Tỷ lệ hộ nghèo', 'giảm còn 0,71%').

    'Cơ cấu kinh tế: công nghiệp, xây dựng 63% …' -> ('Cơ cấu kinh tế', 'công nghiệp, xây dựng 63% …').
    A clause that starts with its figure ('100% xã đạt chuẩn …') keeps its whole text as the
    target; its indicator is the first part without the figure.
    """
    text = " ".join(text.split())
    m = _FIGURE.search(text)
    cut = m.start() if m else len(text)
    colon = text.find(":")
    if 0 < colon < cut:
        cut = colon
    indicator = _TRAILING.sub("", text[:cut]).strip(" ,;:")
    if not indicator:  # "100% xã đạt chuẩn nông thôn mới nâng cao; …"
        first = re.split(r"[;.]\s", text, maxsplit=1)[0]
        lead = _FIGURE.match(first)
        indicator = (first[lead.end():] if lead else first).strip(" ,;:.")
        return indicator, text.rstrip(" ;.")
    target = text[len(indicator):].strip(" :").rstrip(" ;")
    if target.endswith(".") and target.count(".") == 1 + len(re.findall(r"\d\.\d", target)):
        target = target[:-1]  # a lone final full stop, not one inside "32.823"
    return indicator, target


def _keywords(text: str) -> list[str]:
    """Lower-case words of an indicator name, stop words and qualifiers out (accents kept:
    'tính' and 'tỉnh' are different words)."""
    text = _QUALIFIERS.sub(" ", unicodedata.normalize("NFC", text).lower())
    return [w for w in _WORD.findall(text) if w not in _STOP and len(w) > 1]


def _bigrams(words: list[str]) -> set[str]:
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def _units(clauses: list[dict]) -> list[tuple[str, str, str]]:
    """(clause_id, verbatim text, its subject) for every sentence and sentence part of Điều 1.

    A sentence whose head before ':' has no figure is a list under that head: it is
    matched whole on its head ('Cơ cấu kinh tế: công nghiệp, xây dựng 61,7%; …'), and
    its parts without the head ('… tích cực: tỷ lệ phòng học kiên cố đạt 93,58%; …').
    """
    units = []
    for clause in clauses:
        if clause["clause_id"] not in RESULT_CLAUSES:
            continue
        for sentence in _SENTENCE.split(clause["text"]):
            sentence = sentence.strip().rstrip(".")
            if not sentence or not re.search(r"\d", sentence):
                continue
            head, colon, rest = sentence.partition(":")
            listed = bool(colon) and not re.search(r"\d", head)
            if listed:
                units.append((clause["clause_id"], sentence, head))
            parts = [p.strip(" ,.") for p in _PART.split(rest if listed else sentence)]
            if len(parts) > 1 or listed:
                units.extend((clause["clause_id"], p, p) for p in parts if re.search(r"\d", p))
            if not listed:
                units.append((clause["clause_id"], sentence, sentence))
    return units


def _features(text: str) -> set[str]:
    words = _keywords(text)
    return set(words) | _bigrams(words)


def find_result(indicator: str, units: list[tuple[str, str, str]]) -> tuple[str, str]:
    """The verbatim 2023 sentence (or part) for ``indicator``, and its clause; ('', '') when unsure.

    Both ways must agree: most of the indicator's key words are in the sentence, and most
    of the sentence's own subject (its words before the first figure) is in the indicator.
    Words are weighted by how rare they are among the sentences, so 'GRDP' counts for
    more than 'sản'; word pairs count too.
    """
    wanted = _features(indicator)
    if not wanted or not units:
        return "", ""
    unit_features = [_features(subject) for _, _, subject in units]
    n = len(units)

    def weight(f: str) -> float:
        # Rare among the sentences weighs more; a word in none of them weighs as one in a single
        # sentence, so that a qualifier the report never uses ('các cấp') does not sink a match.
        return math.log(1 + n / (1 + max(1, sum(f in u for u in unit_features))))

    def share(part: set[str], whole: set[str]) -> float:
        total = sum(weight(f) for f in whole)
        return sum(weight(f) for f in whole if f in part) / total if total else 0.0

    scored = []
    for (clause_id, verbatim, subject), feats in zip(units, unit_features, strict=True):
        recall = share(feats, wanted)
        own = _features(split_indicator(subject)[0])
        precision = share(wanted, own) if own else recall
        score = 2 * recall * precision / (recall + precision) if recall + precision else 0.0
        scored.append((score, -len(verbatim), clause_id, verbatim))
    scored.sort(reverse=True)
    best = scored[0]
    if best[0] < MIN_SCORE:
        return "", ""
    rival = next((s for s in scored[1:] if s[3] not in best[3] and best[3] not in s[3]), None)
    if rival is not None and best[0] - rival[0] < MIN_MARGIN:
        return "", ""
    return best[3], best[2]


def plan_year(title: str) -> int | None:
    """'NGHỊ QUYẾT Về nhiệm vụ phát triển kinh tế - xã hội năm 2024' -> 2024: the year the targets are for."""
    years = re.findall(r"năm\s+(\d{4})\b", title or "")
    return int(years[-1]) if years else None


def parse_targets(clauses: list[dict], doc: str | None = None) -> list[Target]:
    """Every clause of kind "CT" (of ``doc`` when given), in document order."""
    if doc is not None:
        clauses = [c for c in clauses if c.get("doc", "") == doc]
    by_key = {(c.get("doc", ""), c["clause_id"]): c for c in clauses}
    units_by_doc: dict[str, list] = {}
    rows = []
    for clause in clauses:
        if clause.get("kind") != "CT":
            continue
        doc_key = clause.get("doc", "")
        if doc_key not in units_by_doc:
            units_by_doc[doc_key] = _units([c for c in clauses if c.get("doc", "") == doc_key])
        parent = by_key.get((doc_key, clause.get("parent") or ""))
        area = (parent or {}).get("title", "") if (parent or {}).get("kind") in ("M", "K", "P") else ""
        number_match = re.search(r"\d+", clause.get("marker", "") or clause["clause_id"].rsplit("/", 1)[-1])
        indicator, target = split_indicator(clause["text"])
        # Where Điều 1 holds the targets themselves, it reports no earlier results.
        own_article = clause["clause_id"].split("/")[0] + "/"
        units = [u for u in units_by_doc[doc_key] if not u[0].startswith(own_article)]
        result, where = find_result(indicator, units)
        rows.append(Target(
            number=int(number_match.group()) if number_match else len(rows) + 1,
            clause_id=clause["clause_id"], label=clause.get("label", clause["clause_id"]), doc=doc_key,
            area=area, indicator=indicator, target_2024=target, result_2023=result,
            result_clause_id=where, text=clause["text"],
        ))
    return rows


def csv_columns(year: int | None = 2024) -> list[tuple[str, str]]:
    """(field, Vietnamese header) pairs; the headers name the plan year when it is known."""
    return [
        ("number", "Số"), ("area", "Lĩnh vực"), ("indicator", "Chỉ tiêu"),
        ("target_2024", f"Mục tiêu {year}" if year else "Mục tiêu"),
        ("result_2023", f"Kết quả {year - 1}" if year else "Kết quả năm trước"),
        ("label", "Điều khoản"), ("clause_id", "Mã điều khoản"), ("doc", "Văn bản"),
    ]


def csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe, as spreadsheet programs expect.

    >>> csv_cell("=SUM(A1)"), csv_cell("-5%"), csv_cell("7,5-8%"), csv_cell(12)
    ("'=SUM(A1)", "'-5%", '7,5-8%', '12')
    """
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def targets_csv(rows: list[Target], year: int | None = 2024, sep: str = ",") -> str:
    """CSV with Vietnamese headers (write it as UTF-8 with BOM for spreadsheet programs); ``sep=';'``
    for spreadsheets set to Vietnamese regional settings. Cells are neutralised against formulas."""
    columns = csv_columns(year)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep)
    writer.writerow([csv_cell(title) for _, title in columns])
    for row in rows:
        data = row.to_dict()
        writer.writerow([csv_cell(data[key]) for key, _ in columns])
    return buffer.getvalue()
