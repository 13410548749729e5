"""The sidebar: index status, the document library, adding a resolution and rebuilding.

The pages are chosen in the main area (ui.nav): on a phone the sidebar stays closed unless opened."""
from __future__ import annotations

import logging

import streamlit as st

from core.errors import ProductError
from ui import library, state
from ui.text import backend_label, escape_markdown

log = logging.getLogger(__name__)

def status(assistant, settings) -> None:
    manifest = assistant.index.manifest
    fuller, why_not = assistant.fuller.available()
    with st.expander("Chi tiết kỹ thuật: chỉ mục và mô hình", icon=":material/info:"):
        st.markdown("\n".join([
            f"- Văn bản: {len(manifest['documents'])} ({sum(d['clauses'] for d in manifest['documents'])} điều khoản)",
            f"- Mô hình nhúng: {_code(manifest['embedding_model'])}",
            f"- Cách trả lời: {backend_label(assistant.answerer.name)}"
            + ("" if assistant.answerer.name == settings.answerer
               else f" (cấu hình: {backend_label(settings.answerer)}, chưa dùng được)"),
            "- Câu trả lời đầy đủ hơn: " + (f"có ({_code(settings.fuller_answerer)})" if fuller
                                             else f"không có — {escape_markdown(why_not)}"),
            f"- Thế hệ chỉ mục: {_code(manifest['generation'])}",
            f"- Tạo lúc: {escape_markdown(manifest.get('created', '?'))}",
        ]))
        if not settings.read_only and state.is_admin(settings, key="admin-rebuild") and st.button(
                "Xây lại chỉ mục", icon=":material/refresh:", key="rebuild",
                help="Đọc lại các văn bản và tạo lại toàn bộ vector"):
            from index.build import indexed_sources

            library.build(settings, indexed_sources(settings), force=True)
    for warning in assistant.warnings:
        st.warning(warning, icon=":material/warning:")


def _code(text: str) -> str:
    """Inline code: Markdown escapes don't work inside backticks, so backticks are dropped instead."""
    return "`" + str(text).replace("`", "'") + "`"


def get_assistant():
    """The loaded Assistant; None while it loads in the background; or a short st.error and st.stop() —
    never a traceback.

    The app only reads the index: when it is missing, damaged or of another model, the message says so
    and an explicit button (for the administrator) rebuilds it; nothing is rebuilt behind anyone's back.
    """
    from core.errors import IndexMismatchError, IndexMissingError, ModelMissingError

    settings = state.settings()
    load = state.start_loading()
    if not load.future.done():
        return None
    try:
        return load.future.result()
    except ProductError as exc:
        log.warning("assistant not loaded: %s", exc)
        st.error(exc.user_message)
        if isinstance(exc, (IndexMissingError, IndexMismatchError)) and not isinstance(exc, ModelMissingError):
            _offer_build(settings, missing=isinstance(exc, IndexMissingError))
    except ValueError as exc:  # an unknown embedding model or backend name
        log.warning("assistant not loaded: %s", exc)
        st.error("Cấu hình mô hình không hợp lệ. Hãy kiểm tra biến môi trường TLNQ_EMBEDDING_MODEL "
                 "và TLNQ_ANSWERER.")
    except Exception:  # noqa: BLE001 — the page must show a message, not a traceback
        log.exception("assistant not loaded")
        st.error("Không tải được trợ lý. " + state.GENERIC_ERROR)
    st.stop()


def _offer_build(settings, *, missing: bool) -> None:
    from index.build import indexed_sources

    if settings.read_only or not state.is_admin(settings, key="admin-build"):
        return
    label = "Xây chỉ mục" if missing else "Xây lại chỉ mục"
    if st.button(label, icon=":material/build:", key="build_index", type="primary"):
        library.build(settings, list(settings.documents) if missing else indexed_sources(settings))


def render(settings):
    """Draw the sidebar; returns the assistant, or None while it loads."""
    with st.sidebar:
        st.title("Trợ lý Nghị quyết")
        assistant = get_assistant()
        if assistant is None:
            st.caption(":material/hourglass_top: Đang tải mô hình và chỉ mục…")
            return None
        if flash := st.session_state.pop("flash", None):
            st.success(flash)
        if notes := st.session_state.pop("flash_notes", None):
            st.warning("\n\n".join(escape_markdown(n) for n in notes))
        status(assistant, settings)
        library.library_list(assistant, settings)
        library.uploader(assistant, settings)
    return assistant
