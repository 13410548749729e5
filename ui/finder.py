"""Tra cứu điều khoản: find clauses from a task described in one's own words, and browse the whole tree."""
from __future__ import annotations

import streamlit as st

from core.errors import AssistantError
from index.lexical import fold
from ui import state
from ui.components import show_clause
from ui.text import escape_markdown, node_heading, phrase_spans, query_words, word_spans

RESULTS = 8


def render(assistant, settings, doc: str | None) -> None:
    st.header("Tra cứu điều khoản")
    clauses = state.clauses_by_id(assistant, doc)
    _linked_clause(clauses)
    _finder(assistant, clauses, doc)
    st.divider()
    _tree(clauses, doc)


def _linked_clause(clauses: dict) -> None:
    """A clause opened from a link (?dieu=…, e.g. from the targets table)."""
    wanted = st.query_params.get("dieu")
    if not wanted:
        return
    found = [c for (d, cid), c in clauses.items() if cid == wanted]
    if not found:
        st.info("Không tìm thấy điều khoản được liên kết trong văn bản đang chọn.")
        return
    clause = found[0]
    with st.container(border=True):
        st.markdown(f"**{escape_markdown(clause['label'])}**")
        show_clause(clause, _by_id(clauses, clause.get("doc", "")), spans=[])
        if st.button("Đóng", key="close_linked"):
            del st.query_params["dieu"]
            st.rerun()


def _by_id(clauses: dict, doc: str) -> dict[str, dict]:
    return {cid: c for (d, cid), c in clauses.items() if d == doc}


def _finder(assistant, clauses: dict, doc: str | None) -> None:
    st.subheader("Tìm điều khoản theo công việc")
    query = st.text_input("Mô tả việc bạn cần làm hoặc cần tìm, bằng lời của bạn",
                          placeholder="Ví dụ: phục dựng Phố Hiến; giải ngân vốn đầu tư công; xử lý rác thải",
                          key="finder_query")
    if not query:
        return
    try:
        text = assistant.validate(query)
        hits = assistant.retriever.search(text, k=RESULTS, doc=doc)
    except AssistantError as exc:
        st.warning(exc.user_message)
        return
    except Exception as exc:  # noqa: BLE001
        state.show_error(exc, "clause search")
        return
    if not hits:
        st.info("Không tìm thấy điều khoản phù hợp. Hãy thử diễn đạt khác.")
        return
    words = query_words(text)
    st.caption(f"{len(hits)} điều khoản phù hợp nhất, sát nhất ở trên; từ khớp với mô tả được tô màu.")
    for rank, hit in enumerate(hits, 1):
        clause = clauses.get((hit.doc, hit.clause_id))
        if clause is None:
            continue
        title = f"{rank}. {hit.label} — {_gist(clause)}"
        with st.expander(escape_markdown(title), expanded=rank <= 3, key=f"hit-{rank}"):
            show_clause(clause, _by_id(clauses, hit.doc), spans=word_spans(clause.get("text", ""), words),
                        css_class="tlnq-word")
            # How it was found, in words (scores and clause codes mean nothing to an official).
            signals = [w for w, on in (("từ ngữ trùng với mô tả", "bm25" in hit.ranks),
                                       ("ý nghĩa gần với mô tả", "dense" in hit.ranks)) if on]
            st.caption("Tìm thấy nhờ: " + ", ".join(signals) if signals else "Tìm thấy nhờ: xếp hạng chung")


def _gist(clause: dict, limit: int = 70) -> str:
    text = clause.get("title") or (clause.get("text") or "").split("\n")[0]
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _tree(clauses: dict, doc: str | None) -> None:
    st.subheader("Toàn văn theo cấu trúc")
    st.caption("Điều › khoản › mục › chỉ tiêu. Bấm vào từng mục để mở nội dung.")
    needle = st.text_input("Tìm trong văn bản (gõ có dấu hoặc không dấu)", key="tree_search",
                           placeholder="Ví dụ: nong thon moi")
    docs = sorted({d for d, _ in clauses})
    for doc_key in docs:
        nodes = _by_id(clauses, doc_key)
        if len(docs) > 1:
            st.markdown(f"##### {escape_markdown(doc_key)}")
        matches = _matching(nodes, needle) if needle.strip() else None
        if matches is not None:
            hits = sum(1 for cid in matches if matches[cid])
            if not hits:
                st.info("Không có đoạn nào chứa cụm từ này.")
                continue
            st.caption(f"{hits} đoạn chứa “{escape_markdown(needle.strip())}”.")
        roots = [c for c in nodes.values() if not c.get("parent") or c["parent"] not in nodes]
        for node in roots:  # the index keeps document order
            _node(node, nodes, needle, matches, depth=0)


def _matching(nodes: dict[str, dict], needle: str) -> dict[str, bool]:
    """clause id -> does it (itself) contain the needle; ids absent have no match below them either."""
    own = {cid: bool(phrase_spans(f"{c.get('title', '')}\n{c.get('text', '')}", needle)) for cid, c in nodes.items()}
    keep: dict[str, bool] = {}
    for cid, hit in own.items():
        if not hit:
            continue
        keep[cid] = True
        parent = nodes[cid].get("parent")
        while parent and parent in nodes and parent not in keep:
            keep[parent] = False
            parent = nodes[parent].get("parent")
    return keep


def _node(clause: dict, nodes: dict, needle: str, matches: dict | None, depth: int) -> None:
    cid = clause["clause_id"]
    if matches is not None and cid not in matches:
        return
    label = escape_markdown(node_heading(clause))
    expanded = matches is not None
    kind = "default" if depth == 0 else "compact"
    # The search is part of the key: a new search lays the tree out anew (open where it matches).
    key = f"node-{clause.get('doc', '')}-{cid}-{fold(needle.strip())}"
    with st.expander(label, expanded=expanded, type=kind, key=key):
        text = clause.get("text") or ""
        if text:
            spans = phrase_spans(text, needle) if needle.strip() else []
            st.markdown(_html(text, spans), unsafe_allow_html=True)
        st.caption(escape_markdown(clause.get("label", cid)))
        children = [nodes[c] for c in clause.get("children", []) if c in nodes]
        for child in children:
            _node(child, nodes, needle, matches, depth + 1)


def _html(text: str, spans: list[tuple[int, int]]) -> str:
    from ui.components import clause_html

    return clause_html(text, spans)
