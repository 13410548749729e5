"""Small rendering pieces shared by the pages: a clause with its place in the tree, a citation list,
an answer streamed into its placeholder."""
from __future__ import annotations

import streamlit as st

from assistant.types import Answer
from ui.text import breadcrumb, escape_markdown, highlight_html, quote_spans

# One calm style for highlighted spans and clause text; our own CSS, no user content. A mark sets its own
# text colour (dark on pale): with ``color: inherit`` the dark theme's light text on a pale mark is unreadable.
# Contrast, light and dark theme alike: #1f2328 on #fff3b0 about 14:1, #172554 on #dbeafe about 12:1.
CSS = """
<style>
.stApp mark {background: #fff3b0; color: #1f2328; padding: 0 0.1em; border-radius: 0.2em;}
.stApp mark.tlnq-word {background: #dbeafe; color: #172554;}
.tlnq-clause {line-height: 1.6; padding: 0.25rem 0 0.5rem 0;}
.tlnq-crumb {font-size: 0.85rem; opacity: 0.8;}
/* A wide table on a wide screen, one card per row on a phone (ui/targets_page.py draws both). */
@media (max-width: 640px) {.st-key-tlnq-table {display: none !important;}}
@media (min-width: 641px) {.st-key-tlnq-cards {display: none !important;}}
</style>
"""


# The page is Vietnamese: screen readers, spell-check and hyphenation read <html lang>, which Streamlit sets to "en".
LANG_SCRIPT = '<script>document.documentElement.lang = "vi";</script>'


def inject_css() -> None:
    st.html(CSS)
    st.html(LANG_SCRIPT, unsafe_allow_javascript=True)


def clause_html(text: str, spans: list[tuple[int, int]], css_class: str = "") -> str:
    """The clause as one HTML block (no blank line inside, so Markdown never touches it)."""
    return f'<div class="tlnq-clause">{highlight_html(text, spans, css_class)}</div>'


def show_clause(clause: dict, by_id: dict[str, dict], *, quote: str = "",
                spans: list[tuple[int, int]] | None = None, css_class: str = "") -> None:
    """Breadcrumb, then the full text with the quoted span (or the given spans) highlighted."""
    crumbs = breadcrumb(clause, by_id)
    st.markdown('<div class="tlnq-crumb">' + " › ".join(_escape_html(c) for c in crumbs) + "</div>",
                unsafe_allow_html=True)
    text = clause.get("text") or ""
    if clause.get("title") and not text:
        text = clause["title"]
    marks = spans if spans is not None else quote_spans(text, quote)
    st.markdown(clause_html(text, marks, css_class), unsafe_allow_html=True)


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


def _escape_html(text: str) -> str:
    import html

    return html.escape(text)


def citation_list(citations: list[dict], clauses: dict[tuple[str, str], dict], *, key: str,
                  show_score: bool = False, doc_names: dict[str, str] | None = None) -> None:
    """One expander per cited clause, labelled in legal order ('mục 3.5, khoản 3, Điều 2'), followed by
    its document's name when several are indexed (``doc_names``)."""
    for i, cit in enumerate(citations):
        doc, clause_id = cit.get("doc", ""), cit["clause_id"]
        clause = clauses.get((doc, clause_id)) or next(
            (c for (d, cid), c in clauses.items() if cid == clause_id), None)
        label = escape_markdown(cited_label(cit, doc_names))
        with st.expander(label, icon=":material/description:", key=f"{key}-{i}"):
            if clause is None:
                st.text(cit.get("quote", ""))
                continue
            by_id = {cid: c for (d, cid), c in clauses.items() if d == clause.get("doc", "")}
            show_clause(clause, by_id, quote=cit.get("quote", ""))
            if show_score and cit.get("score") is not None:
                st.caption(f"Mức liên quan: {cit['score']:.3f}")


def stream_answer(items, placeholder) -> Answer | None:
    """Show the checked preview as it grows, then the final answer in its place."""
    shown = ""
    for item in items:
        if isinstance(item, Answer):
            placeholder.markdown(escape_markdown(item.answer))
            return item
        shown += item
        placeholder.markdown(escape_markdown(shown) + " ▌")
    return None
