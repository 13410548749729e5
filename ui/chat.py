"""Hỏi đáp: the conversation, answers streamed, each with its cited clauses.

Session state: ``messages`` = [{"role", "content", "id", and for answers "answer" (Answer.to_dict()),
"question", "history", "rating", "feedback_id", "commented"}].
"""
from __future__ import annotations

import logging
import time
import uuid

import streamlit as st

from core.errors import AssistantError
from assistant.feedback import record_feedback
from ui import conversations, fuller, state
from ui.components import citation_list, stream_answer
from ui.text import backend_label, cited_label, escape_markdown, seconds_vi

log = logging.getLogger(__name__)

SAMPLE_QUESTIONS = (
    "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?",
    "Tỷ lệ hộ nghèo năm 2024 phấn đấu giảm còn bao nhiêu?",
    "Năm 2023 kim ngạch xuất khẩu đạt bao nhiêu?",
    "Tỉnh làm gì để phục dựng Phố Hiến?",
    "Chỉ tiêu về tỷ lệ đô thị hóa năm 2024?",
)
FEEDBACK_VALUES = {0: "down", 1: "up"}
AVATARS = {"user": ":material/person:", "assistant": ":material/gavel:"}


def render(assistant, settings, doc: str | None) -> None:
    messages = _restore(settings)
    clauses = state.clauses_by_id(assistant, None)

    head, past, save, clear = st.columns([3.4, 1.2, 1.1, 1.4], vertical_alignment="bottom")
    head.header("Hỏi đáp về nghị quyết")
    _past(past, settings)
    if messages:
        _export(save, messages, state.doc_names(assistant))
        with clear.popover("Xóa hội thoại", icon=":material/delete_sweep:", help="Xóa hội thoại này"):
            st.caption("Xóa mọi câu hỏi và câu trả lời của hội thoại này (cả bản đã lưu)?")
            if st.button("Xóa hội thoại", key="clear_chat", type="primary"):
                conversations.delete(settings, st.session_state.get("conversation"))
                _open_conversation(None, [])
                st.rerun()

    if not messages:
        st.markdown("Đặt câu hỏi bằng lời của bạn. Mỗi câu trả lời đều dẫn **điều, khoản, mục** của nghị quyết; "
                    "nếu nghị quyết không quy định, trợ lý sẽ nói rõ.")
        if _seed_active(assistant, settings, doc):  # the samples are about the bundled resolution
            st.caption("Gợi ý câu hỏi:")
            for i, question in enumerate(SAMPLE_QUESTIONS):
                st.button(question, key=f"sample-{i}", on_click=_queue, args=(question,), type="tertiary",
                          icon=":material/chat_bubble:")

    for message in messages:
        _render_message(message, clauses, settings, assistant)
    if messages and st.session_state.get("pending_question") is None:
        _suggest(messages[-1], assistant)
    if st.session_state.pop("conversation_dirty", False) and messages:  # a fuller answer or a rating was added
        _persist(settings, messages)

    _notice()
    # A question is answered in the run after it was asked, with the input disabled meanwhile:
    # a second question typed mid-answer would otherwise interrupt the first and lose it.
    pending = st.session_state.get("pending_question")
    # max_chars: the box stops at the limit, so a long text is never typed only to be refused and lost.
    typed = st.chat_input("Nhập câu hỏi về nghị quyết…", key="chat_input", disabled=pending is not None,
                          max_chars=settings.max_question_chars)
    asked = typed if typed is not None else st.session_state.pop("queued_question", None)
    if asked is not None and pending is None:
        st.session_state["pending_question"] = asked
        st.session_state.setdefault("asked_at", time.monotonic())  # kept when it was asked while loading
        if asked.strip():  # stored as pending: a reload before the answer asks it again
            _persist(settings, messages, pending=asked)
        st.rerun()
    if pending is not None:
        answered = False
        try:
            answered = _answer(pending, assistant, messages, doc, st.session_state.get("asked_at"))
        finally:
            st.session_state.pop("pending_question", None)
            st.session_state.pop("asked_at", None)
            if not answered:  # refused as empty or too long, or failed: not to be asked again on a reload
                _forget_pending(settings, messages)
        st.rerun()


WAIT_POLL_S = 0.5
BROWSER_COOKIE = "tlnq_browser"
COOKIE_DAYS = 365


def _browser_id() -> str:
    """A random id for this browser, kept in a cookie, so its conversations can be listed on a later visit."""
    known = st.session_state.get("browser")
    if known:
        return known
    sent = (st.context.cookies or {}).get(BROWSER_COOKIE)
    if conversations.valid_id(sent):
        st.session_state["browser"] = sent
        return sent
    fresh = conversations.new_id()
    st.session_state["browser"] = fresh
    st.html(f"<script>document.cookie = '{BROWSER_COOKIE}={fresh}; max-age={COOKIE_DAYS * 86400}; path=/; "
            "SameSite=Strict';</script>", unsafe_allow_javascript=True)
    return fresh


def _open_conversation(cid: str | None, messages: list[dict]) -> None:
    st.session_state["messages"] = messages
    st.session_state["conversation"] = cid
    if cid:
        st.query_params["hoi"] = cid
    elif "hoi" in st.query_params:
        del st.query_params["hoi"]


def _restore(settings) -> list[dict]:
    """This session's conversation; on a new session (a reload), the one the URL names, read from disk."""
    _browser_id()
    if "messages" not in st.session_state:
        cid = st.query_params.get("hoi")
        record = conversations.load(settings, cid)
        _open_conversation(cid if record else None, record["messages"] if record else [])
        if record and isinstance(record.get("pending"), str) and "queued_question" not in st.session_state:
            st.session_state["queued_question"] = record["pending"]  # reloaded before its answer: ask again
    return st.session_state["messages"]


def _persist(settings, messages: list[dict], pending: str | None = None) -> None:
    """Save when a question is asked (as pending) and after each answer; a conversation gets its id (and
    URL) with its first question."""
    cid = st.session_state.get("conversation")
    if not cid:
        cid = conversations.new_id()
        _open_conversation(cid, messages)
    if not conversations.save(settings, cid, st.session_state.get("browser"), messages, pending=pending):
        st.session_state["chat_notice"] = ("warning", "Không lưu được hội thoại trên máy chủ; hội thoại vẫn còn "
                                                      "trong trang này (hãy tải về nếu cần giữ).")


def _forget_pending(settings, messages: list[dict]) -> None:
    cid = st.session_state.get("conversation")
    if cid and messages:
        conversations.save(settings, cid, st.session_state.get("browser"), messages)
    elif cid:  # nothing but the question that was not answered
        conversations.delete(settings, cid)
        _open_conversation(None, messages)


def _past(column, settings) -> None:
    """This browser's earlier conversations, newest first, and a new one."""
    mine = conversations.recent(settings, st.session_state.get("browser"))
    with column.popover("Hội thoại", icon=":material/history:", help="Hội thoại trước đây trên trình duyệt này"):
        if st.button("Hội thoại mới", key="new_chat", icon=":material/add_comment:"):
            _open_conversation(None, [])
            st.rerun()
        current = st.session_state.get("conversation")
        if not mine:
            st.caption("Chưa có hội thoại nào được lưu.")
        for record in mine:
            when = record["updated"][:16].replace("T", " ")
            label = f"{record['title']} · {when}" + (" (đang mở)" if record["id"] == current else "")
            if st.button(label, key=f"open-{record['id']}", type="tertiary", disabled=record["id"] == current):
                stored = conversations.load(settings, record["id"])
                if stored:
                    _open_conversation(record["id"], stored["messages"])
                    st.rerun()


def _export(column, messages: list[dict], doc_names: dict[str, str]) -> None:
    """Download the conversation (each answer with its citations and quotes) as Word or Markdown."""
    from ui.export import conversation_docx, conversation_markdown

    with column.popover("Tải về", icon=":material/download:", help="Lưu hội thoại kèm căn cứ trích dẫn"):
        snapshot = list(messages)  # built on click (a deferred callable), from the conversation as shown
        st.download_button("Word (.docx)", data=lambda: conversation_docx(snapshot, doc_names), key="export_docx",
                           file_name="hoi-dap-nghi-quyet.docx", icon=":material/description:",
                           mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        st.download_button("Markdown (.md)", data=lambda: conversation_markdown(snapshot, doc_names).encode("utf-8"),
                           key="export_md", file_name="hoi-dap-nghi-quyet.md", mime="text/markdown",
                           icon=":material/notes:")


def render_waiting(settings, seconds: float) -> None:
    """While the models load: say so, and take a question already (it is answered as soon as they are ready)."""
    messages = _restore(settings)  # a conversation reopened from the URL, with a question left pending
    st.header("Hỏi đáp về nghị quyết")
    st.info(f"Đang tải mô hình và chỉ mục… {seconds_vi(seconds)} giây (lần khởi động đầu có thể mất khoảng một "
            "phút). Bạn có thể nhập câu hỏi ngay; câu hỏi sẽ được trả lời khi tải xong.",
            icon=":material/hourglass_top:")
    typed = st.chat_input("Nhập câu hỏi về nghị quyết…", key="chat_input", max_chars=settings.max_question_chars)
    if typed is not None:
        st.session_state["queued_question"] = typed
        st.session_state.setdefault("asked_at", time.monotonic())
        if typed.strip():  # stored as pending: a reload while the models load keeps it too
            _persist(settings, messages, pending=typed)
    if queued := st.session_state.get("queued_question"):
        with st.chat_message("user", avatar=AVATARS["user"]):
            st.text(queued)
        st.caption("Câu hỏi sẽ được trả lời ngay khi mô hình tải xong.")
    time.sleep(WAIT_POLL_S)
    st.rerun()


def _seed_active(assistant, settings, doc: str | None) -> bool:
    from index.build import document_key

    seed = {document_key(p) for p in settings.documents}
    indexed = {d["key"] for d in assistant.index.documents}
    return bool(seed & indexed) and (doc is None or doc in seed)


def _queue(question: str) -> None:
    st.session_state["queued_question"] = question


def _answer(question: str, assistant, messages: list[dict], doc: str | None, asked_at: float | None = None) -> bool:
    """Answer one question (True when answered); a problem is kept as a notice for the next run, the
    history stays as it is."""
    try:
        assistant.validate(question)
    except AssistantError as exc:  # empty or too long: say so politely
        st.session_state["chat_notice"] = ("warning", exc.user_message)
        return False
    history = [{"role": m["role"], "content": m["content"]} for m in messages]
    with st.chat_message("user", avatar=AVATARS["user"]):
        st.text(question)
    with st.chat_message("assistant", avatar=AVATARS["assistant"]):
        try:
            answer = stream_answer(assistant.stream(question, history, doc=doc), st.empty())
        except Exception as exc:  # noqa: BLE001 — shown as a short message, details in the log
            st.session_state["chat_notice"] = ("error", state.error_message(exc, "answering"))
            return False
    if answer is None:
        st.session_state["chat_notice"] = ("error", "Không nhận được câu trả lời. Vui lòng thử lại.")
        return False
    messages.append({"role": "user", "content": question, "id": _new_id()})
    waited = time.monotonic() - asked_at if asked_at is not None else answer.timings_ms.total / 1000
    messages.append({"role": "assistant", "content": answer.answer, "id": _new_id(), "answer": answer.to_dict(),
                     "question": question, "history": history, "doc": doc, "waited_s": waited})
    _persist(assistant.settings, messages)
    return True


def _suggest(last: dict, assistant) -> None:
    """Two or three questions about the cited clauses' neighbours (assistant.suggest), under the last answer."""
    from assistant.suggest import follow_ups

    answer = last.get("answer") or {}
    if last.get("role") != "assistant" or not answer.get("answerable"):
        return
    rows, years = state.targets(assistant)
    offered = follow_ups(answer.get("citations") or [], assistant.index.clauses, rows, years,
                         asked=last.get("question", ""))
    if not offered:
        return
    st.caption("Hỏi tiếp:")
    for i, question in enumerate(offered):
        st.button(question, key=f"next-{last['id']}-{i}", on_click=_queue, args=(question,), type="tertiary",
                  icon=":material/subdirectory_arrow_right:")


def _notice() -> None:
    kind, text = st.session_state.pop("chat_notice", (None, None))
    if kind == "warning":
        st.warning(text, icon=":material/edit_note:")
    elif kind == "error":
        st.error(text)


def _new_id() -> str:
    return uuid.uuid4().hex[:10]


def _render_message(message: dict, clauses: dict, settings, assistant) -> None:
    with st.chat_message(message["role"], avatar=AVATARS[message["role"]]):
        if message["role"] == "user":
            st.text(message["content"])
            return
        answer = message["answer"]
        st.markdown(escape_markdown(answer["answer"]))
        mid = message["id"]
        if answer["answerable"] and answer["citations"]:
            st.caption("Căn cứ trích dẫn — bấm để xem nguyên văn:")
            citation_list(answer["citations"], clauses, key=f"cit-{mid}", doc_names=state.doc_names(assistant))
        elif answer.get("related"):
            st.caption("Không có trong nghị quyết. Các điều khoản gần nhất có thể liên quan:")
            citation_list(answer["related"], clauses, key=f"rel-{mid}", doc_names=state.doc_names(assistant))
        _warnings(answer, assistant.warnings)
        _actions(message, settings, state.doc_names(assistant))
        if answer["answerable"]:
            fuller.render(message, assistant, clauses)


def _warnings(answer: dict, shown_warnings: list[str]) -> None:
    for warning in answer.get("warnings") or []:
        if warning in shown_warnings:  # already in the sidebar
            continue
        st.caption(f":material/warning: {escape_markdown(warning)}")


def copy_text(answer: dict, doc_names: dict[str, str] | None = None) -> str:
    """The answer with its citations, ready to paste into a document."""
    lines = [answer["answer"].strip()]
    sources = answer["citations"] or []
    if sources:
        lines += ["", "Căn cứ:"]
        lines += [f"- {cited_label(c, doc_names)}: “{c['quote'].strip()}”" for c in sources]
    return "\n".join(lines)


def _actions(message: dict, settings, doc_names: dict[str, str] | None = None) -> None:
    mid = message["id"]
    answer = message["answer"]
    rate, copy, info = st.columns([1.3, 1.4, 4], vertical_alignment="center")
    with rate:
        value = st.feedback("thumbs", key=f"fb-{mid}")
    with copy:
        with st.popover("Sao chép", icon=":material/content_copy:", help="Câu trả lời kèm trích dẫn"):
            st.code(copy_text(answer, doc_names), language=None, wrap_lines=True)
    if message.get("waited_s") is not None:  # what the official waited, from pressing Enter to the answer
        info.caption(f"Trả lời sau {seconds_vi(message['waited_s'])} giây · {backend_label(answer.get('backend', ''))}")

    rating = FEEDBACK_VALUES.get(value) if value is not None else None
    if rating and rating != message.get("rating"):
        message.setdefault("feedback_id", f"fb-{mid}")
        if _save_feedback(message, settings, rating, ""):
            message["rating"] = rating
            st.session_state["conversation_dirty"] = True
    if message.get("rating") and not message.get("commented"):
        with st.form(key=f"comment-{mid}", border=False, clear_on_submit=True):
            comment = st.text_input("Nhận xét thêm (không bắt buộc)", key=f"comment-text-{mid}",
                                    placeholder="Điều gì chưa đúng hoặc còn thiếu?")
            if st.form_submit_button("Gửi nhận xét") and comment.strip():
                if _save_feedback(message, settings, message["rating"], comment):
                    message["commented"] = True
                    st.session_state["conversation_dirty"] = True
                    st.rerun()
    elif message.get("commented"):
        st.caption("Cảm ơn bạn đã góp ý.")


def _save_feedback(message: dict, settings, rating: str, comment: str) -> bool:
    try:
        record_feedback(settings, message["question"], message["history"], message["answer"], rating, comment,
                        feedback_id=message["feedback_id"], doc=message.get("doc"))
        return True
    except (OSError, ValueError) as exc:
        log.warning("feedback not saved: %s", exc)
        st.error("Không lưu được đánh giá. Vui lòng thử lại sau.")
        return False
