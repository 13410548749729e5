"""What every page shares: settings, the cached Assistant, errors shown as short Vietnamese messages."""
from __future__ import annotations

import logging

import streamlit as st

from core.config import Settings, get_settings
from core.errors import ProductError

log = logging.getLogger(__name__)

GENERIC_ERROR = "Đã có lỗi ngoài dự kiến. Vui lòng thử lại; nếu vẫn lỗi, hãy báo quản trị viên."


@st.cache_resource(show_spinner="Đang tải mô hình và chỉ mục… (lần đầu có thể mất vài chục giây)", max_entries=1)
def _load_assistant(generation: str | None, index_dir: str):
    """One Assistant per index generation, shared by all sessions (it is thread-safe).

    Keyed on the current generation, so an index rebuilt elsewhere (the CLI, another
    session) is picked up on the next rerun; ``max_entries=1`` drops the old one.
    """
    from assistant.service import Assistant

    return Assistant.load(get_settings())


def current_generation() -> str | None:
    from index.store import current_generation as _current

    return _current(get_settings().index_dir)


def get_assistant():
    """The loaded Assistant, or a short st.error and st.stop() — never a traceback.

    The app only reads the index: when it is missing, damaged or of another model, the message says so
    and an explicit button (for the administrator) rebuilds it; nothing is rebuilt behind anyone's back.
    """
    from core.errors import IndexMismatchError, IndexMissingError, ModelMissingError

    settings = get_settings()
    try:
        return _load_assistant(current_generation(), str(settings.index_dir))
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
        st.error("Không tải được trợ lý. " + GENERIC_ERROR)
    st.stop()


def _offer_build(settings: Settings, *, missing: bool) -> None:
    from assistant.service import indexed_sources
    from ui import sidebar

    if not is_admin(settings, key="admin-build"):
        return
    label = "Xây chỉ mục" if missing else "Xây lại chỉ mục"
    if st.button(label, icon=":material/build:", key="build_index", type="primary"):
        sidebar.build(settings, list(settings.documents) if missing else indexed_sources(settings))


def is_admin(settings: Settings, *, key: str) -> bool:
    """Whether this session may change the shared index (upload, rebuild).

    No TLNQ_ADMIN_TOKEN: yes (a single-user app). Otherwise the token must be typed once per session;
    it is compared in constant time and never shown or logged.
    """
    import hmac

    if not settings.admin_token or st.session_state.get("admin"):
        return True
    token = settings.admin_token.encode("utf-8")
    typed_anywhere = [v for k, v in st.session_state.items() if str(k).startswith("admin-") and isinstance(v, str)]
    if any(hmac.compare_digest(v.encode("utf-8"), token) for v in typed_anywhere):  # typed in another box
        st.session_state["admin"] = True
        return True
    typed = st.text_input("Mã quản trị (để thêm văn bản hoặc xây lại chỉ mục)", type="password", key=key)
    if not typed:
        return False
    if hmac.compare_digest(typed.encode("utf-8"), token):
        st.session_state["admin"] = True
        return True
    st.error("Mã quản trị không đúng.")
    return False


def forget_assistant() -> None:
    """Drop the cached Assistant (after a build), so the next rerun opens the new index."""
    _load_assistant.clear()


def settings() -> Settings:
    return get_settings()


def active_doc() -> str | None:
    """The document chosen in the sidebar; None means every indexed document."""
    return st.session_state.get("doc") or None


def clauses_by_id(assistant, doc: str | None) -> dict[tuple[str, str], dict]:
    return {(c.get("doc", ""), c["clause_id"]): c for c in assistant.index.clauses
            if doc is None or c.get("doc") == doc}


def error_message(exc: Exception, what: str) -> str:
    """A known error's own message, else a generic one (the details go to the log)."""
    if isinstance(exc, ProductError):
        log.warning("%s: %s", what, exc)
        return exc.user_message
    log.error("%s failed", what, exc_info=exc)
    return GENERIC_ERROR


def show_error(exc: Exception, what: str) -> None:
    st.error(error_message(exc, what))
