"""The shared library of documents: adding one (checked, confirmed, logged), rebuilding the index, who added
what and when. Off when the deployment is read-only (TLNQ_READ_ONLY)."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import streamlit as st

from core.errors import IndexingError
from ui import state
from ui.text import escape_markdown

log = logging.getLogger(__name__)

STAGES = {"parse": "Đọc và phân tích văn bản", "embed": "Tạo vector cho điều khoản", "store": "Lưu chỉ mục"}
# Progress bar share of each build stage: (start, end).
STAGE_SPAN = {"parse": (0.0, 0.1), "embed": (0.1, 0.85), "store": (0.85, 1.0)}
LIBRARY_LOG = "library.jsonl"


def uploader(assistant, settings) -> None:
    from index.limits import Limits

    if settings.read_only:  # an office deployment whose library is managed elsewhere
        return
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
        who = st.text_input("Người thêm (không bắt buộc)", key="added_by", max_chars=80)
        sure = st.checkbox("Thêm vào thư viện dùng chung: mọi người dùng sẽ hỏi được văn bản này", key="add_confirm")
        if st.button("Thêm và xây lại chỉ mục", icon=":material/upload_file:", key="add_doc", type="primary",
                     disabled=not sure):
            add_document(upload.name, upload.getvalue(), settings, added_by=who)


def safe_file_name(name: str) -> str:
    """'../../Nghị quyết 12 (bản sửa).PDF' -> 'nghi-quyet-12-ban-sua.pdf'; never a path."""
    from index.lexical import strip_accents

    base = Path(str(name).replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", strip_accents(stem).lower()).strip("-")[:80] or "nghi-quyet"
    return slug + (suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else "")


def documents_dir(settings) -> Path:
    return Path(settings.index_dir).parent / "documents"


def add_document(name: str, data: bytes, settings, *, added_by: str = "") -> bool:
    """Check, store under <index_dir>/../documents and rebuild with every indexed source plus this one;
    the library log records who added what, when."""
    from index.build import check_clause_count, document_key, indexed_sources
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
    if created:
        record_addition(settings, target, name, added_by)
    st.session_state["select_doc"] = document_key(target)  # the next run asks of the new document
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


def record_addition(settings, stored: Path, original_name: str, added_by: str) -> None:
    """One line per added document in <documents>/library.jsonl (a failed write is logged, not fatal)."""
    entry = {"file": stored.name, "uploaded_as": str(original_name)[:200], "added_by": added_by.strip()[:80],
             "added_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        with open(documents_dir(settings) / LIBRARY_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    except OSError as exc:
        log.warning("library log not written: %s", exc)


def additions(settings) -> dict[str, dict]:
    """File name -> its latest library log entry (who added it, when)."""
    path = documents_dir(settings) / LIBRARY_LOG
    out: dict[str, dict] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
            out[entry["file"]] = entry
        except (ValueError, KeyError, TypeError):
            continue
    return out


def library_list(assistant, settings) -> None:
    """The indexed documents, with who added each and when (documents shipped with the app: 'có sẵn')."""
    added = additions(settings)
    with st.expander(f"Thư viện văn bản ({len(assistant.index.documents)})", icon=":material/library_books:"):
        for doc in assistant.index.documents:
            entry = added.get(Path(doc.get("source", "")).name)
            if entry:
                when = entry["added_at"][:16].replace("T", " ")
                by = f" bởi {entry['added_by']}" if entry.get("added_by") else ""
                origin = f"thêm{by} lúc {when} (UTC)"
            else:
                origin = "có sẵn"
            st.markdown(f"- **{escape_markdown(doc.get('display') or doc['key'])}** — {escape_markdown(origin)}")
