"""The pages, chosen in a row at the top of the main area and kept in step with ?trang=… .

At the top rather than in the sidebar: on a phone the sidebar covers the page while it is open, and a
choice made in it left it open; a row of four short labels fits a 390 px screen.
"""
from __future__ import annotations

import streamlit as st

PAGES = {
    "hoi-dap": ":material/forum: Hỏi đáp",
    "tra-cuu": ":material/search: Tra cứu điều khoản",
    "chi-tieu": ":material/table_chart: Chỉ tiêu",
    "danh-gia": ":material/fact_check: Đánh giá",
}


def choose_page() -> str:
    """The page radio, kept in step with ?trang=… so a page can be linked to."""
    wanted = st.query_params.get("trang")
    if "page" not in st.session_state:
        st.session_state["page"] = wanted if wanted in PAGES else "hoi-dap"
    elif wanted in PAGES and wanted != st.session_state.get("_last_url_page"):
        st.session_state["page"] = wanted  # a link was followed
    page = st.radio("Trang", list(PAGES), format_func=PAGES.get, key="page", label_visibility="collapsed",
                    horizontal=True)
    if st.query_params.get("trang") != page:
        st.query_params["trang"] = page
        if page != "tra-cuu" and "dieu" in st.query_params:
            del st.query_params["dieu"]
    st.session_state["_last_url_page"] = page
    return page
