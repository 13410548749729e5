"""Small rendering pieces shared by the pages: a clause with its place in the tree, a citation list,
an answer streamed into its placeholder."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import streamlit as st

from assistant.types import Answer
from ui.text import breadcrumb, cited_label, escape_markdown, highlight_html, quote_spans

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


LOCALE_FILE = Path(__file__).resolve().parent / "data" / "streamlit_vi.json"

# The page is Vietnamese: screen readers, spell-check and hyphenation read <html lang>, which Streamlit sets to
# "en"; and Streamlit's own words ("Upload", "Stop", "Copy to clipboard") have no Vietnamese setting, so a
# MutationObserver puts them into Vietnamese from ui/data/streamlit_vi.json as they appear. Only chrome is
# touched: exact text inside Streamlit's own widgets, exact aria-label/title values — never user content.
_LOCALE_JS = """
(() => {
  document.documentElement.lang = "vi";
  if (window.__tlnqLocale) return;
  window.__tlnqLocale = true;
  const L = %s;
  const scope = L.scopes.join(",");
  const patterns = L.patterns.map(([re, to]) => [new RegExp(re), to]);
  const fixText = node => {
    const el = node.parentElement;
    if (!el || !el.closest(scope)) return;
    const text = node.nodeValue.trim();
    if (L.text[text]) { node.nodeValue = node.nodeValue.replace(text, L.text[text]); return; }
    for (const [re, to] of patterns) if (re.test(text)) { node.nodeValue = text.replace(re, to); return; }
  };
  const fixAttrs = el => {
    for (const name of ["aria-label", "title"]) {
      const v = el.getAttribute && el.getAttribute(name);
      if (v && L.attributes[v]) el.setAttribute(name, L.attributes[v]);
    }
  };
  const fix = root => {
    if (root.nodeType === 3) { fixText(root); return; }
    if (root.nodeType !== 1) return;
    fixAttrs(root);
    root.querySelectorAll("[aria-label],[title]").forEach(fixAttrs);
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) fixText(n);
  };
  fix(document.body);
  new MutationObserver(changes => changes.forEach(c => {
    if (c.type === "characterData") fixText(c.target);
    else if (c.type === "attributes") fixAttrs(c.target);
    else c.addedNodes.forEach(fix);
  })).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                              attributeFilter: ["aria-label", "title"]});
})();
"""


@lru_cache(maxsize=1)
def locale_script() -> str:
    """The <script> that sets lang="vi" and translates Streamlit's chrome (the JSON is embedded as data)."""
    table = json.loads(LOCALE_FILE.read_text(encoding="utf-8"))
    table.pop("_about", None)
    data = json.dumps(table, ensure_ascii=False).replace("</", "<\\/")
    return "<script>" + _LOCALE_JS % data + "</script>"


def inject_css() -> None:
    st.html(CSS)
    st.html(locale_script(), unsafe_allow_javascript=True)


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
