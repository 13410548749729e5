"""Understanding a question before retrieval: normalisation, abbreviations, follow-ups, intent."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from index.lexical import strip_accents

# Generic words of asking, not of topic: they never decide relevance. Written with
# accents; the accent-free forms apply only to questions typed without accents.
QUESTION_WORDS_ACCENTED = frozenset("""
bao nhiêu bn mấy là gì nào thế sao thì còn vậy à nhỉ nhé ơi cho mình hỏi tôi muốn biết được đc có
không ko chưa năm mục tiêu chỉ đạt phấn đấu phần nghị quyết tỉnh ra về của và các
những trong theo ở đâu thuộc điều khoản quy định nội dung phải sẽ đã đang bị tại với như này đó kia
gồm hay khác nhau so sánh thay đổi cao thấp hơn chênh lệch ai việc nhiệm vụ giải pháp hiện trên cụ
thể một lượng mục nhiều ít tăng giảm lại ạ hả nhé bạn vui lòng giúp dự kiến đặt giao yêu cầu
năm nay năm tới năm sau năm trước tới sau trước nêu nói gì làm sẽ đến từ
""".split())
QUESTION_WORDS = frozenset(strip_accents(w) for w in QUESTION_WORDS_ACCENTED) - {"so", "dan", "hien", "dau"}
_DATA = Path(__file__).parent / "data"
# Control, zero-width and bidi characters, and lone surrogates (argv bytes that were not UTF-8
# arrive as \udc80-\udcff and crash the tokenizers).
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_YEAR = re.compile(r"(?<![\d\-–/.,])(19|20)\d\d(?![\d\-–/.,]\d)")
_NUMBER = re.compile(r"\d")
_QUANTITY = re.compile(r"bao nhi[eê]u|\bbn\b|\bmấy\b|phần trăm|\bbao nhieu\b|\bmay phan tram\b|\bmức\b.*\bnào\b|tăng bao|đạt bao", re.I)
_WHICH_CLAUSE = re.compile(
    r"(ở|o|nằm ở|nam o|thuộc|thuoc|quy định (tại|ở)|tại)\s+"
    r"(mục|muc|điều|dieu|khoản|khoan|điều khoản|dieu khoan|chỉ tiêu|chi tieu|phần|phan)\s*(nào|nao|mấy|may|số mấy)"
    r"|(mục|muc|điều|dieu|khoản|khoan|điều khoản|dieu khoan|chỉ tiêu|chi tieu)\s+(nào|nao|số mấy|so may|mấy|may)\b"
    r"|nằm ở đâu|nam o dau|ở đâu trong|o dau trong|chỉ tiêu số mấy|chi tieu so may",
    re.I,
)
_FOLLOWUP_START = re.compile(
    r"^(còn|con|thế|the|vậy|vay|so với|so voi|trong đó|trong do|chỉ tiêu đó|chi tieu do|nhiệm vụ đó|"
    r"nhiem vu do|cái đó|cai do|nó|no|đó|do|ý đó|năm \d{4} thì|nam \d{4} thi|thì sao|còn về)\b",
    re.I,
)
_ANAPHORA = re.compile(r"\b(đó|do|này|nay|trên|ấy|ay|thì sao|thi sao|kia)\b", re.I)
# The digits must end the number: 'chỉ tiêu 2024' and 'chỉ tiêu 10%' name no clause.
_CLAUSE_REF = re.compile(
    r"chỉ tiêu\s*(?:số|thứ)?\s*\(?(\d{1,2})(?![\d.,%])\)?|chi tieu\s*(?:so|thu)?\s*\(?(\d{1,2})(?![\d.,%])\)?"
    r"|\bmục\s*(\d{1,2}(?:\.\d{1,2}){1,2})|\bmuc\s*(\d{1,2}(?:\.\d{1,2}){1,2})"
    r"|\bkhoản\s*(\d{1,2})\s*,?\s*điều\s*(\d{1,2})|\bđiều\s*(\d{1,2})\b",
    re.I,
)


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, str]:
    return json.loads((_DATA / "abbreviations.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def section_rules() -> list[dict]:
    return json.loads((_DATA / "sections.json").read_text(encoding="utf-8"))["rules"]


def section_matches(text: str) -> list[dict]:
    """'Ai ký nghị quyết này?' -> [the CLOSING rule quoting its last lines]."""
    plain = " " + " ".join(re.findall(r"[a-z0-9]+", strip_accents(text.lower()))) + " "

    def hit(cue: str) -> bool:
        return all(f" {part} " in plain for part in cue.split("+"))

    return [rule for rule in section_rules() if any(hit(cue) for cue in rule["cues"])]


_COMPARE = re.compile(
    r"so với|so sánh|chênh|khác nhau|thay đổi|cao hơn|thấp hơn|tăng hay giảm|cả hai"
    r"|\bvà (mục tiêu|chỉ tiêu|năm)|so voi|so sanh|chenh|khac nhau|thay doi|cao hon|thap hon|\bva (muc tieu|chi tieu|nam)",
    re.I,
)


def normalise(text: str) -> str:
    """NFC, control and bidi characters out, whitespace folded (the same for every input path)."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def expand_abbreviations(text: str) -> str:
    """'BHYT 2024' -> 'BHYT bảo hiểm y tế 2024': the expansion is added, the original kept."""
    table = abbreviations()

    def repl(m: re.Match) -> str:
        word = m.group(0)
        expansion = table.get(word.lower())
        return f"{word} {expansion}" if expansion and expansion.lower() != word.lower() else word

    return re.sub(r"[\wđĐ]+(?:-[\wđĐ]+)?", repl, text)


# Measurement units a question may ask a figure in ("bao nhiêu %", "mấy ha"): the answer's
# figure must carry the same unit.
_UNITS = {
    "%": "%", "phần trăm": "%", "phan tram": "%", "ha": "ha", "héc ta": "ha", "hecta": "ha", "km": "km",
    "tỷ": "tỷ", "ty": "tỷ", "triệu": "triệu", "trieu": "triệu", "nghìn": "nghìn", "usd": "USD", "đô la": "USD",
    "tuổi": "tuổi", "tuoi": "tuổi", "lượt": "lượt", "luot": "lượt", "huy chương": "huy chương",
}
_UNIT_ASKED = re.compile(
    r"(?:bao nhi[eê]u|\bbn\b|\bmấy\b|\bmay\b)\s*(%|phần trăm|phan tram|héc ta|hecta|ha|km|tỷ|ty|triệu|trieu|nghìn|"
    r"usd|đô la|tuổi|tuoi|lượt|luot|huy chương)(?![\wÀ-ỹ])", re.I)


def unit_asked(text: str) -> str | None:
    """'tăng bao nhiêu %/năm' -> '%'; 'bao nhiêu người' -> None (not a measurement unit)."""
    m = _UNIT_ASKED.search(text)
    return _UNITS[m.group(1).lower()] if m else None


def years(text: str) -> set[str]:
    """Standalone years ('năm 2025'), not ranges like '2021-2025' or dates like '10/6/2023'."""
    return {m.group(0) for m in _YEAR.finditer(text)}


# Digits that are not figures: dates, document numbers and legal references.
_NOT_FIGURES = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{4}\b|\bngày\s+\d{1,2}\s+tháng\s+\d{1,2}\b"
    r"|\b\d+(?:/\d{4})?/[A-ZĐ][A-ZĐ0-9-]*\b"
    r"|\b(?:Điều|điều|khoản|điểm|Chương|chương|Mục|mục|khóa|kỳ họp thứ|Khóa|Kỳ họp thứ)\s+[\dIVXLC]+(?:\.\d+)*\b")


def has_number(text: str) -> bool:
    """A figure, not a year, a date, a document number or a legal reference: 'năm 2024' or
    'Nghị quyết số 412/NQ-HĐND ngày 07/12/2023' answers no 'bao nhiêu'.

    >>> has_number("Căn cứ Nghị quyết số 21/CT-TTg ngày 10/6/2023, khoản 3 Điều 10"), has_number("đạt 93,8%")
    (False, True)
    """
    return bool(_NUMBER.search(_NOT_FIGURES.sub(" ", _YEAR.sub(" ", text))))


@dataclass
class Question:
    raw: str
    text: str  # normalised
    search_text: str  # with history context and abbreviation expansions
    years: set[str] = field(default_factory=set)
    quantity: bool = False
    which_clause: bool = False
    clause_refs: list[str] = field(default_factory=list)  # id suffixes like "CT15", "M3.5"
    section_quote: dict[str, str] = field(default_factory=dict)  # "CLOSING" -> "last:2"
    followup: bool = False
    compare: bool = False
    unit: str | None = None
    unknown_clause: bool = False  # names clause numbers no document has nor quotes (set after lookup)


def is_followup(text: str) -> bool:
    """Elliptic: starts like a follow-up, points back, or names almost no topic of its own."""
    words = text.split()
    topic = [w for w in re.findall(r"[^\W\d_]+", strip_accents(text.lower())) if w not in QUESTION_WORDS]
    return (bool(_FOLLOWUP_START.match(text)) or (len(words) <= 6 and bool(_ANAPHORA.search(text)))
            or len(topic) <= 2)


def user_turns(history) -> list[dict]:
    """The well-formed user turns of a history; anything else (a string, scalars, None content) is skipped.

    History comes from callers (API, --batch lines, the app): a malformed one must not crash an answer.
    """
    if not isinstance(history, (list, tuple)):
        return []
    return [t for t in history
            if isinstance(t, dict) and t.get("role") == "user" and isinstance(t.get("content"), str)]


def trim_history(history: list[dict] | None, turns: int, chars: int) -> list[dict] | None:
    """Only the last ``turns`` turns matter to a follow-up, each cut to ``chars`` characters, so a
    pasted megabyte of history costs what a short one does.

    >>> trim_history([{"role": "user", "content": "a" * 9}] * 5, 2, 4)
    [{'role': 'user', 'content': 'aaaa'}, {'role': 'user', 'content': 'aaaa'}]
    """
    if not history:
        return history
    kept = []
    for turn in list(history)[-turns:]:
        if isinstance(turn, dict) and isinstance(turn.get("content"), str):
            turn = {**turn, "content": turn["content"][:chars]}
        kept.append(turn)
    return kept


def resolve_history(text: str, history: list[dict] | None) -> tuple[str, bool]:
    """An elliptic follow-up borrows the topic of the last user turn.

    'còn năm 2023 thì sao?' after 'GRDP năm 2024 tăng bao nhiêu?' ->
    'GRDP năm tăng bao nhiêu? còn năm 2023 thì sao?' (the old year is dropped).
    """
    previous = [normalise(t["content"]) for t in user_turns(history)]
    previous = [p for p in previous if p]
    if not previous or not is_followup(text):
        return text, False
    topic = previous[-1]
    if is_followup(topic) and len(previous) > 1:
        topic = f"{previous[-2]} {topic}"
    if years(text):
        topic = _YEAR.sub("", topic)
    return f"{topic} {text}", True


NUMBERED_REF = re.compile(r"CT\d+|M\d+(?:\.\d+)+|D\d+(?:/K\d+)?")


def numbered_refs(q: "Question") -> list[str]:
    """The clauses the question names by number ('chỉ tiêu (7)', 'mục 3.5', 'khoản 2 Điều 3'), not
    the sections it names by kind ('người ký').

    >>> numbered_refs(analyse("Chỉ tiêu thứ 7 và mục 3.5 là gì? Ai là người ký?"))
    ['CT7', 'M3.5']
    >>> numbered_refs(analyse("Các chỉ tiêu 2024 đạt 10%?"))
    []
    """
    return [r for r in q.clause_refs if NUMBERED_REF.fullmatch(r)]


def mention_pattern(ref: str) -> re.Pattern | None:
    """How a text quotes a numbered clause of another document ('sửa đổi khoản 2 Điều 10 như sau'), so a
    question about an amended clause finds the clause that amends it. Target numbers ('CT7') have no
    such form: '(7)' alone says nothing.

    >>> bool(mention_pattern("D10/K2").search("Sửa đổi, bổ sung khoản 2 Điều 10 như sau"))
    True
    >>> bool(mention_pattern("D1").search("Điều 10 được sửa")), mention_pattern("CT7")
    (False, None)
    """
    if m := re.fullmatch(r"D(\d+)/K(\d+)", ref):
        return re.compile(rf"\bkhoản\s+{m[2]}\s*,?\s+(?:của\s+)?điều\s+{m[1]}(?!\d)", re.I)
    if m := re.fullmatch(r"D(\d+)", ref):
        return re.compile(rf"\bđiều\s+{m[1]}(?![\d.])", re.I)
    if m := re.fullmatch(r"M([\d.]+)", ref):
        return re.compile(rf"\bmục\s+{re.escape(m[1])}(?![\d.])", re.I)
    return None


def analyse(raw: str, history: list[dict] | None = None) -> Question:
    text = normalise(raw)
    context, followup = resolve_history(text, history)
    refs: list[str] = []
    for m in _CLAUSE_REF.finditer(text):
        ct, ct2, muc, muc2, khoan, dieu_k, dieu = m.groups()
        if ct or ct2:
            refs.append(f"CT{ct or ct2}")
        elif muc or muc2:
            refs.append(f"M{muc or muc2}")
        elif khoan:
            refs.append(f"D{dieu_k}/K{khoan}")
        elif dieu:
            refs.append(f"D{dieu}")
    rules = section_matches(text) or section_matches(context)
    refs += [rule["section"] for rule in rules]
    section_quote = {rule["section"]: rule["quote"] for rule in rules if "quote" in rule}
    plain = strip_accents(text.lower())
    compare = bool(_COMPARE.search(text) or _COMPARE.search(plain)) or len(years(text)) > 1
    return Question(
        raw=raw,
        text=text,
        search_text=expand_abbreviations(context),
        years=years(context) if not years(text) else years(text),
        quantity=compare or bool(_QUANTITY.search(context) or _QUANTITY.search(strip_accents(context.lower()))),
        compare=compare,
        unit=unit_asked(text),
        which_clause=bool(_WHICH_CLAUSE.search(text) or _WHICH_CLAUSE.search(plain)),
        clause_refs=list(dict.fromkeys(refs)),
        section_quote=section_quote,
        followup=followup,
    )
