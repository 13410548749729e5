"""The scope of every page: which indexed document is asked of (all of them, or one), at the top of the page."""
from __future__ import annotations

import re

import streamlit as st

from ui.text import escape_markdown

ALL_DOCS = "__all__"


def document_picker(assistant) -> str | None:
    """The scope of every page, at the top of the main area: the active document (key), or None for all;
    kept in st.session_state["doc"]. A document just added is selected (and said so)."""
    docs = assistant.index.documents
    if len(docs) == 1:
        st.caption(f":material/description: Văn bản: **{escape_markdown(_title(docs[0]))}**")
        st.session_state["doc"] = None
        return None
    keys = [ALL_DOCS] + [d["key"] for d in docs]
    titles = {d["key"]: _title(d) for d in docs}
    if (new := st.session_state.pop("select_doc", None)) in keys:
        st.session_state["doc_choice"] = new
    if st.session_state.get("doc_choice") not in keys:
        st.session_state["doc_choice"] = ALL_DOCS
    choice = st.selectbox("Văn bản đang hỏi", keys, key="doc_choice",
                          format_func=lambda k: f"Tất cả {len(docs)} văn bản đã nạp" if k == ALL_DOCS else titles[k])
    st.session_state["doc"] = None if choice == ALL_DOCS else choice
    return st.session_state["doc"]


def _title(doc: dict) -> str:
    """'Nghị quyết 412/NQ-HĐND — Về nhiệm vụ …' (from the index manifest; older manifests: the header)."""
    if doc.get("display"):
        return doc["display"]
    title = doc.get("title") or doc["key"]
    number = re.search(r"Số:?\s*([\w/.-]+)", title)
    about = re.search(r"NGHỊ QUYẾT\s+(.*)$", title)
    if number and about:
        return f"Nghị quyết {number.group(1)} — {about.group(1).strip()}"
    return title
