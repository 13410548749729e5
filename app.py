"""Trợ lý Nghị quyết — the Streamlit app: `streamlit run app.py`.

A thin page: a row at the top picks the page (ui.nav), then the document (ui.scope); the sidebar holds the
library and the index status; each page lives in ui/.
Heavy objects are cached in ui.state; errors are shown as short Vietnamese messages.
"""
from __future__ import annotations

import logging

import streamlit as st

from ui import chat, evaluation, finder, nav, scope, sidebar, state, targets_page
from ui.components import inject_css

PAGES = {
    "hoi-dap": chat.render,
    "tra-cuu": finder.render,
    "chi-tieu": targets_page.render,
    "danh-gia": evaluation.render,
}


def main() -> None:
    st.set_page_config(page_title="Trợ lý Nghị quyết", page_icon=":material/gavel:", layout="wide")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    inject_css()
    settings = state.settings()
    page = nav.choose_page()
    try:
        assistant = sidebar.render(settings)
    except Exception as exc:  # noqa: BLE001
        state.show_error(exc, "sidebar")
        st.stop()
    if assistant is None:  # the models load in the background; the page (and the chat box) are already here
        chat.render_waiting(settings, state.start_loading().seconds)
        return
    try:
        doc = scope.document_picker(assistant)
        PAGES[page](assistant, settings, doc)
    except Exception as exc:  # noqa: BLE001 — st.rerun()/st.stop() are BaseExceptions and pass through
        state.show_error(exc, f"page {page}")


main()
