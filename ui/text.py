"""Pure text helpers for the pages: escaping, highlighting, breadcrumbs. No Streamlit here.

Everything shown from a document or a user goes through ``escape_markdown`` (for
st.markdown) or ``html.escape`` (inside HTML we build ourselves), so neither can
inject markup.
"""
from __future__ import annotations

import html
import re
import unicodedata

from index.lexical import fold

# CommonMark's escapable punctuation, plus '$' (Streamlit's LaTeX) and ':' (its
# emoji / colour directives such as ':red[…]').
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(fold(w) for w in (
    "và của các là có được cho với trong theo về những này đó thì mà để từ một đã đang sẽ bị tại nào gì "
    "bao nhiêu không sao thế vậy như nào"
).split())


def escape_markdown(text: str) -> str:
    r"""'**a** <b>' -> '\*\*a\*\* \<b\>': shown literally by st.markdown; newlines kept as line breaks;
    web and mail addresses left as text (see ``defuse_links``)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", defuse_links(text or ""))
    return escaped.replace("\n", "  \n")


_LINK_START = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?=@)", re.IGNORECASE)


def defuse_links(text: str) -> str:
    r"""Addresses in a document stay text, never live links: Streamlit's Markdown turns 'https://…',
    'www.…' and 'a@b.vn' into links even when escaped, so a word joiner (U+2060, invisible) goes
    where the autolinker looks for them.

    >>> defuse_links("xem https://a.vn, www.b.vn, c@d.vn").encode("unicode_escape").decode()
    'xem https:\\u2060//a.vn, www\\u2060.b.vn, c\\u2060@d.vn'
    """
    return _LINK_START.sub("\u2060", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text or "")


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_html(text: str, spans: list[tuple[int, int]], css_class: str = "") -> str:
    """Escape ``text`` and wrap each (start, end) span in <mark>; newlines become <br>.

    >>> highlight_html("a <b> c", [(2, 5)])
    'a <mark>&lt;b&gt;</mark> c'
    """
    out, pos = [], 0
    attr = f' class="{css_class}"' if css_class else ""
    for start, end in _merge([s for s in spans if s[0] < s[1]]):
        out.append(html.escape(defuse_links(text[pos:start])))
        out.append(f"<mark{attr}>{html.escape(defuse_links(text[start:end]))}</mark>")
        pos = end
    out.append(html.escape(defuse_links(text[pos:])))
    return "".join(out).replace("\n", "<br>")


def quote_spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Where the cited quote is in the clause text: the whole quote, else each of its sentences.

    The answerer quotes whole sentences, sometimes several joined by spaces, and may
    drop a final ';' — so each sentence is looked for without its end punctuation.
    """
    text, quote = nfc(text), nfc(quote).strip()
    if not quote:
        return []
    start = text.find(quote)
    if start >= 0:
        return [(start, start + len(quote))]
    spans = []
    for piece in re.split(r"(?<=[.;!?])\s+", quote):
        piece = piece.strip().rstrip(".;:!?").strip()
        if len(piece) < 8:
            continue
        start = text.find(piece)
        if start >= 0:
            spans.append((start, start + len(piece)))
    return spans


def query_words(query: str) -> set[str]:
    """Content words of a query, lower-cased: 'Phục dựng Phố Hiến' -> {'phục', 'dựng', 'phố', 'hiến'}."""
    words = {w.lower() for w in _WORD.findall(nfc(query))}
    return {w for w in words if fold(w) not in _STOP and len(w) > 1}


def word_spans(text: str, words: set[str]) -> list[tuple[int, int]]:
    """Spans of the words of ``text`` that match a query word.

    A word typed with accents matches only itself ('phố' not 'phó'); one typed
    without them matches any accented form ('pho' finds 'phố' and 'phó').
    """
    exact = {w for w in words if fold(w) != w}
    loose = {w for w in words if fold(w) == w}
    return [(m.start(), m.end()) for m in _WORD.finditer(text)
            if m.group().lower() in exact or fold(m.group()) in loose]


def phrase_spans(text: str, needle: str) -> list[tuple[int, int]]:
    """Accent- and case-insensitive occurrences of ``needle`` ('pho hien' finds 'Phố Hiến').

    ``fold`` keeps one character for one, so positions in the folded text are positions in ``text``.
    """
    needle = fold(" ".join(nfc(needle).split()))
    if not needle:
        return []
    haystack = fold(text)
    spans, start = [], haystack.find(needle)
    while start >= 0:
        spans.append((start, start + len(needle)))
        start = haystack.find(needle, start + len(needle))
    return spans


def node_heading(clause: dict) -> str:
    """'3.14.' + title, or the start of the text: what a tree node or a breadcrumb step shows."""
    marker = clause.get("marker") or clause.get("label") or clause["clause_id"]
    title = clause.get("title") or ""
    if not title:
        first = (clause.get("text") or "").split("\n")[0]
        title = first[:80] + ("…" if len(first) > 80 else "")
    return f"{marker} {title}".strip()


def breadcrumb(clause: dict, by_id: dict[str, dict]) -> list[str]:
    """The path from the Điều down to ``clause``: ['Điều 2. Mục tiêu…', '3. Nhiệm vụ giải pháp', '3.14. …']."""
    steps = []
    node: dict | None = clause
    seen = set()
    while node is not None and node["clause_id"] not in seen:
        seen.add(node["clause_id"])
        steps.append(_short(node))
        node = by_id.get(node.get("parent") or "")
    return list(reversed(steps))


def _short(clause: dict) -> str:
    marker = (clause.get("marker") or clause.get("label") or clause["clause_id"]).strip()
    title = clause.get("title") or ""
    return f"{marker} {title}".strip() if title else marker.rstrip(".")


BACKEND_LABELS = {"extractive": "trích nguyên văn", "llamacpp": "mô hình ngôn ngữ cục bộ",
                  "ollama": "mô hình ngôn ngữ (Ollama)", "openai": "mô hình ngôn ngữ (máy chủ)"}


def backend_label(name: str) -> str:
    """How an answer was written, in words an official reads.

    >>> backend_label("extractive"), backend_label("llamacpp")
    ('trích nguyên văn', 'mô hình ngôn ngữ cục bộ')
    """
    return BACKEND_LABELS.get(name, name)


def seconds_vi(seconds: float) -> str:
    """Seconds with a Vietnamese decimal comma: 4.25 -> '4,3'; 12.0 -> '12'.

    >>> seconds_vi(4.25), seconds_vi(12.04), seconds_vi(0.4)
    ('4,2', '12', '0,4')
    """
    return f"{seconds:.0f}" if seconds >= 10 else f"{seconds:.1f}".replace(".", ",")


def cited_label(citation: dict, doc_names: dict[str, str] | None = None) -> str:
    """'mục 2.1, khoản 2, Điều 2' — and ' · Nghị quyết 412/NQ-HĐND' when several documents are indexed.

    >>> cited_label({"label": "Điều 7", "doc": "a"}, {"a": "Nghị quyết 5/NQ-HĐND", "b": "Quyết định 9/QĐ-UBND"})
    'Điều 7 · Nghị quyết 5/NQ-HĐND'
    >>> cited_label({"label": "Điều 7", "doc": "a"}, {"a": "Nghị quyết 5/NQ-HĐND"})
    'Điều 7'
    """
    label = citation.get("label") or citation["clause_id"]
    names = doc_names or {}
    if len(names) > 1 and citation.get("doc") in names:
        label += f" · {names[citation['doc']]}"
    return label
