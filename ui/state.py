"""What every page shares: settings, the Assistant (loaded in the background), errors as short Vietnamese messages."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import streamlit as st

from core.config import Settings, get_settings
from core.errors import ProductError

log = logging.getLogger(__name__)

GENERIC_ERROR = "Đã có lỗi ngoài dự kiến. Vui lòng thử lại; nếu vẫn lỗi, hãy báo quản trị viên."


# How the app makes its Assistant: the composition root, unless a test (or an embedding of the app)
# provides another factory with ``provide_assistant`` — page tests run on fakes this way.
_factory: Callable[[Settings], object] | None = None


def provide_assistant(factory: Callable[[Settings], object] | None) -> None:
    """Make the app's Assistant with ``factory(settings)`` from now on (None: the default); drops the loaded one."""
    global _factory
    _factory = factory
    forget_assistant()


@dataclass
class Loading:
    """The shared Assistant of one index generation, made in a background thread: pages render meanwhile."""
    future: Future
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


_loads: dict[tuple, Loading] = {}  # at most one: the current index generation's
_loads_lock = threading.Lock()
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tlnq-load")


def _make(settings: Settings):
    if _factory is not None:
        return _factory(settings)
    from assistant.compose import make_assistant

    return make_assistant(settings)


def start_loading() -> Loading:
    """The Assistant of the current index generation, shared by all sessions (it is thread-safe), loading
    in the background when it is not loaded yet.

    Keyed on the current generation, so an index rebuilt elsewhere (the CLI, another session) is picked up
    on the next rerun. A load that failed is forgotten once reported, so the next rerun tries again.
    """
    settings = get_settings()
    key = (current_generation(), str(settings.index_dir))
    with _loads_lock:
        load = _loads.get(key)
        if load is None:
            _loads.clear()
            load = _loads[key] = Loading(_pool.submit(_make, settings))
        elif load.future.done() and load.future.exception() is not None:
            del _loads[key]
        return load


def load_assistant(timeout: float | None = None):
    """The shared Assistant, waiting for it (errors propagate)."""
    return start_loading().future.result(timeout)


def current_generation() -> str | None:
    from index.store import current_generation as _current

    return _current(get_settings().index_dir)


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
    """Drop the loaded Assistant (after a build), so the next rerun opens the new index."""
    with _loads_lock:
        _loads.clear()


def settings() -> Settings:
    return get_settings()


def doc_names(assistant) -> dict[str, str]:
    """Indexed document key -> its short name ('Nghị quyết 412/NQ-HĐND'), from the manifest's display title."""
    return {d["key"]: (d.get("display") or d.get("title") or d["key"]).split(" — ")[0]
            for d in assistant.index.documents}


def clauses_by_id(assistant, doc: str | None) -> dict[tuple[str, str], dict]:
    return {(c.get("doc", ""), c["clause_id"]): c for c in assistant.index.clauses
            if doc is None or c.get("doc") == doc}


_targets: dict[str, tuple[list, dict]] = {}


def targets(assistant) -> tuple[list, dict[str, int | None]]:
    """The index's numbered targets and each document's plan year, read once per index generation
    (the follow-up suggestions under every answer use them)."""
    from assistant.targets import parse_targets, plan_year

    generation = str(assistant.index.manifest.get("generation", id(assistant.index)))
    if generation not in _targets:
        years = {d["key"]: plan_year(d.get("title", "")) for d in assistant.index.documents}
        _targets.clear()
        _targets[generation] = (parse_targets(assistant.index.clauses), years)
    return _targets[generation]


def error_message(exc: Exception, what: str) -> str:
    """A known error's own message, else a generic one (the details go to the log)."""
    if isinstance(exc, ProductError):
        log.warning("%s: %s", what, exc)
        return exc.user_message
    log.error("%s failed", what, exc_info=exc)
    return GENERIC_ERROR


def show_error(exc: Exception, what: str) -> None:
    st.error(error_message(exc, what))
