"""The sidebar: pages, the active document, index status, adding a resolution and rebuilding."""
from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from core.errors import IndexingError, ProductError
from ui import state
from ui.text import backend_label, escape_markdown

log = logging.getLogger(__name__)

PAGES = {
    "hoi-dap": ":material/forum: Hỏi đáp",
    "tra-cuu": ":material/search: Tra cứu điều khoản",
    "chi-tieu": ":material/table_chart: Chỉ tiêu 2024",
    "danh-gia": ":material/fact_check: Đánh giá",
}
STAGES = {"parse": "Đọc và phân tích văn bản", "embed": "Tạo vector cho điều khoản", "store": "Lưu chỉ mục"}
# Progress bar share of each build stage: (start, end).
STAGE_SPAN = {"parse": (0.0, 0.1), "embed": (0.1, 0.85), "store": (0.85, 1.0)}


def choose_page() -> str:
    """The page radio, kept in step with ?trang=… so a page can be linked to."""
    wanted = st.query_params.get("trang")
    if "page" not in st.session_state:
        st.session_state["page"] = wanted if wanted in PAGES else "hoi-dap"
    elif wanted in PAGES and wanted != st.session_state.get("_last_url_page"):
        st.session_state["page"] = wanted  # a link was followed
    page = st.radio("Trang", list(PAGES), format_func=PAGES.get, key="page", label_visibility="collapsed")
    if st.query_params.get("trang") != page:
        st.query_params["trang"] = page
        if page != "tra-cuu" and "dieu" in st.query_params:
            del st.query_params["dieu"]
    st.session_state["_last_url_page"] = page
    return page


ALL_DOCS = "__all__"


def document_picker(assistant) -> str | None:
    """The active document (key), or None for all; kept in st.session_state["doc"]."""
    docs = assistant.index.documents
    if len(docs) == 1:
        st.caption("Văn bản đang dùng")
        st.markdown(f"**{escape_markdown(_title(docs[0]))}**")
        st.session_state["doc"] = None
        return None
    keys = [ALL_DOCS] + [d["key"] for d in docs]
    titles = {d["key"]: _title(d) for d in docs}
    if st.session_state.get("doc_choice") not in keys:
        st.session_state["doc_choice"] = ALL_DOCS
    choice = st.selectbox("Văn bản đang hỏi", keys, key="doc_choice",
                          format_func=lambda k: "Tất cả văn bản đã nạp" if k == ALL_DOCS else titles[k])
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


def status(assistant, settings) -> None:
    manifest = assistant.index.manifest
    fuller, why_not = assistant.fuller.available()
    with st.expander("Chỉ mục và mô hình", icon=":material/info:"):
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
        if state.is_admin(settings, key="admin-rebuild") and st.button(
                "Xây lại chỉ mục", icon=":material/refresh:", key="rebuild",
                help="Đọc lại các văn bản và tạo lại toàn bộ vector"):
            from index.build import indexed_sources

            build(settings, indexed_sources(settings), force=True)
    for warning in assistant.warnings:
        st.warning(warning, icon=":material/warning:")


def _code(text: str) -> str:
    """Inline code: Markdown escapes don't work inside backticks, so backticks are dropped instead."""
    return "`" + str(text).replace("`", "'") + "`"


def uploader(assistant, settings) -> None:
    from index.limits import Limits

    limit_mb = Limits.of(settings).document_mb
    with st.expander("Thêm nghị quyết", icon=":material/note_add:"):
        if not state.is_admin(settings, key="admin-upload"):
            st.caption("Chỉ quản trị viên được thêm văn bản vào chỉ mục dùng chung.")
            return
        # A new key after each upload empties the widget once the file is in the index.
        round_ = st.session_state.setdefault("upload_round", 0)
        upload = st.file_uploader(f"Tệp .txt, .md, .docx, .pdf hoặc .html (tối đa {limit_mb} MB)",
                                  type=["txt", "md", "docx", "pdf", "html", "htm"], key=f"doc_upload-{round_}")
        if upload is None:
            return
        if st.button("Thêm và xây lại chỉ mục", icon=":material/upload_file:", key="add_doc", type="primary"):
            add_document(upload.name, upload.getvalue(), settings)


def safe_file_name(name: str) -> str:
    """'../../Nghị quyết 12 (bản sửa).PDF' -> 'nghi-quyet-12-ban-sua.pdf'; never a path."""
    from index.lexical import strip_accents

    base = Path(str(name).replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", strip_accents(stem).lower()).strip("-")[:80] or "nghi-quyet"
    return slug + (suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else "")


def documents_dir(settings) -> Path:
    return Path(settings.index_dir).parent / "documents"


def add_document(name: str, data: bytes, settings) -> bool:
    """Check, store under <index_dir>/../documents and rebuild with every indexed source plus this one."""
    from index.build import indexed_sources
    from index.build import check_clause_count
    from index.limits import MB, Limits
    from index.load import SUPPORTED_SUFFIXES, load_document
    from index.parse import parse_document

    limits = Limits.of(settings)
    file_name = safe_file_name(name)
    if Path(file_name).suffix.lower() not in SUPPORTED_SUFFIXES:
        st.error("Chỉ nhận tệp .txt, .md, .docx, .pdf hoặc .html.")
        return False
    if len(data) > limits.document_mb * MB:
        st.error(f"Tệp quá lớn ({len(data) / MB:.1f} MB; tối đa {limits.document_mb} MB).")
        return False
    folder = documents_dir(settings)
    target = folder / file_name
    created = False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            candidate = Path(tmp) / file_name
            candidate.write_bytes(data)
            parsed = parse_document(load_document(candidate, limits))  # refuse what cannot be read before touching anything
            check_clause_count(parsed.clauses, limits, file_name)
            st.session_state["upload_warnings"] = [w.message_vi() for w in parsed.warnings]
            digest = hashlib.sha256(data).hexdigest()
            if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() != digest:
                target = _free_name(target)
            if not target.exists():
                shutil.move(str(candidate), target)
                created = True
    except IndexingError as exc:
        log.warning("upload %r refused: %s", name, exc)
        st.error(exc.user_message)
        return False
    except OSError as exc:
        log.warning("upload %r not saved: %s", name, exc)
        st.error("Không lưu được tệp tải lên.")
        return False
    sources = list(dict.fromkeys(Path(p).resolve() for p in [*indexed_sources(settings), target]))
    if build(settings, sources):
        return True
    if created:
        target.unlink(missing_ok=True)  # not indexed: don't leave it to be picked up later
    return False


def _free_name(path: Path) -> Path:
    n = 2
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate


def build(settings, sources: list[Path], *, force: bool = False) -> bool:
    """Build with a progress bar; on success drop the cached Assistant and rerun."""
    from index.build import build_for

    bar = st.progress(0.0, text="Đang chuẩn bị…")

    def progress(stage: str, done: int, total: int) -> None:
        start, end = STAGE_SPAN.get(stage, (0.0, 1.0))
        share = start + (end - start) * (done / total if total else 1.0)
        bar.progress(min(share, 1.0), text=f"{STAGES.get(stage, stage)}: {done}/{total}")

    try:
        report = build_for(settings, sources, progress=progress, force=force)
    except Exception as exc:  # noqa: BLE001
        bar.empty()
        state.show_error(exc, "index build")
        return False
    bar.empty()
    state.forget_assistant()
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
    st.session_state["flash"] = (f"Đã xây chỉ mục: {report.documents} văn bản, {report.clauses} điều khoản "
                                 f"({report.seconds:.0f} giây).")
    notes = [f"Không nạp được {f.source.name}: {f.user_message}" for f in report.failed]
    warnings = st.session_state.pop("upload_warnings", [])
    if warnings:
        notes.append(f"Văn bản vừa tải lên có {len(warnings)} điểm cấu trúc được tự xử lý:")
        notes += [f"- {w}" for w in warnings[:15]] + ([f"- … và {len(warnings) - 15} điểm khác"] if len(warnings) > 15 else [])
    if notes:
        st.session_state["flash_notes"] = notes
    st.rerun()
    return True  # not reached: st.rerun() raises


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

    if not state.is_admin(settings, key="admin-build"):
        return
    label = "Xây chỉ mục" if missing else "Xây lại chỉ mục"
    if st.button(label, icon=":material/build:", key="build_index", type="primary"):
        build(settings, list(settings.documents) if missing else indexed_sources(settings))


def render(settings) -> tuple[str, object]:
    """Draw the sidebar; returns (page key, assistant or None while it loads)."""
    with st.sidebar:
        st.title("Trợ lý Nghị quyết")
        page = choose_page()
        st.divider()
        assistant = get_assistant()
        if assistant is None:
            st.caption(":material/hourglass_top: Đang tải mô hình và chỉ mục…")
            return page, None
        document_picker(assistant)
        if flash := st.session_state.pop("flash", None):
            st.success(flash)
        if notes := st.session_state.pop("flash_notes", None):
            st.warning("\n\n".join(escape_markdown(n) for n in notes))
        status(assistant, settings)
        uploader(assistant, settings)
    return page, assistant
