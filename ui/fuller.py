"""The fuller, generated answer offered under an instant verbatim one.

The local model takes 10-30 s on a laptop CPU and needs about 1 GB of memory, so it runs
only when asked for, one answer at a time, and passes the same checks as every answer.
"""
from __future__ import annotations

import streamlit as st

from ui import state
from ui.components import citation_list, stream_answer
from ui.text import escape_markdown, seconds_vi

# Seconds the last fuller answers took in this process: the expected wait said before the next one.
_RECENT_S: list[float] = []
RECENT_KEPT = 5
DEFAULT_WAIT = "10–60 giây"

MODEL_NOTE = ("Do mô hình Qwen2.5-Coder-1.5B-Instruct (giấy phép Apache-2.0) chạy trên máy này viết; "
              "mọi con số đã được đối chiếu với điều khoản trích dẫn.")


def render(message: dict, assistant, clauses: dict) -> None:
    mid = message["id"]
    if message["answer"].get("backend") != "extractive":
        return
    if message.get("fuller"):
        _show(message["fuller"], clauses, mid)
        return
    if st.session_state.get("fuller_for") == mid:
        _generate(message, assistant, clauses)
        return
    available, why = assistant.fuller.available()
    if available:
        st.button("Câu trả lời đầy đủ hơn", key=f"fuller-{mid}", icon=":material/auto_awesome:", type="tertiary",
                  on_click=_request, args=(mid,),
                  help=f"Mô hình ngôn ngữ cục bộ diễn đạt lại câu trả lời; thường mất {expected_wait()}.")
    elif assistant.settings.fuller_answerer not in ("none", "extractive"):  # wanted, but cannot run: say why
        st.caption(f":material/info: Chưa có câu trả lời đầy đủ hơn: {escape_markdown(why)}")


def expected_wait() -> str:
    """'khoảng 42 giây' from the median of the last fuller answers here, else the range measured on a laptop."""
    if not _RECENT_S:
        return DEFAULT_WAIT
    ordered = sorted(_RECENT_S)
    return f"khoảng {seconds_vi(ordered[len(ordered) // 2])} giây"


def _request(mid: str) -> None:
    st.session_state["fuller_for"] = mid


def _timing(answer: dict) -> str:
    timings = answer.get("timings_ms") or {}
    parts = []
    if timings.get("first_token") is not None:
        parts.append(f"chữ đầu tiên sau {seconds_vi(timings['first_token'] / 1000)} giây")
    if timings.get("total") is not None:
        parts.append(f"tổng {seconds_vi(timings['total'] / 1000)} giây")
    return " · ".join(parts)


def _show(answer: dict, clauses: dict, mid: str) -> None:
    with st.container(border=True, key=f"fuller-box-{mid}"):
        if answer.get("backend") == "extractive":  # the model's text did not pass the checks
            st.caption(":material/info: " + escape_markdown(
                "Mô hình ngôn ngữ không đưa ra được câu trả lời có căn cứ cho câu hỏi này; "
                "câu trả lời trích dẫn ở trên là câu trả lời đúng. (" + _timing(answer) + ")"))
            return
        st.caption(f":material/auto_awesome: Câu trả lời đầy đủ hơn · {escape_markdown(_timing(answer))}")
        st.markdown(escape_markdown(answer["answer"]))
        citation_list(answer["citations"], clauses, key=f"fuller-cit-{mid}")
        st.caption(MODEL_NOTE)


def _generate(message: dict, assistant, clauses: dict) -> None:
    """Stream the checked preview, keep the result on the message, then show it as stored."""
    st.session_state.pop("fuller_for", None)
    with st.container(border=True, key=f"fuller-box-{message['id']}"):
        try:
            with st.spinner("Đang nạp mô hình ngôn ngữ…"):
                answerer = assistant.fuller.answerer()
            note, stop = st.columns([5, 1], vertical_alignment="center")
            note.caption(f":material/auto_awesome: Đang viết câu trả lời đầy đủ hơn (thường mất {expected_wait()}). "
                         "Bạn vẫn có thể đặt câu hỏi khác; câu hỏi mới hoặc nút “Dừng” sẽ dừng việc viết.")
            # Any click reruns the page and so ends this run: the button needs no handler of its own.
            stop.button("Dừng", key=f"fuller-stop-{message['id']}", icon=":material/stop_circle:")
            answer = stream_answer(assistant.stream(message["question"], message["history"], doc=message.get("doc"),
                                                    answerer=answerer), st.empty())
        except Exception as exc:  # noqa: BLE001 — a short message; the verbatim answer stays
            st.warning(state.error_message(exc, "fuller answer"))
            return
    if answer is not None:
        _RECENT_S[:] = (_RECENT_S + [answer.timings_ms.total / 1000])[-RECENT_KEPT:]
        message["fuller"] = answer.to_dict()
        st.session_state["conversation_dirty"] = True
        st.rerun()
