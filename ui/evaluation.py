"""Đánh giá: run the eval set (the bundled one or an uploaded JSONL) and show metrics, plots, failures.

The scoring is eval.runner's; this page only collects the questions, shows progress and the result.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from ui import state
from ui.text import backend_label, escape_markdown, seconds_vi

log = logging.getLogger(__name__)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
METRIC_LABELS = {
    "recall@1": "Đúng điều khoản ở vị trí 1 (R@1)",
    "recall@5": "Đúng điều khoản trong top 5 (R@5)",
    "mrr@10": "MRR@10",
    "all_facts": "Đủ dữ kiện trong câu trả lời",
    "citation_hit": "Trích dẫn đúng",
    "citation_precision": "Độ chính xác trích dẫn",
    "refusal_acc": "Từ chối đúng (câu ngoài nghị quyết)",
    "false_refusal": "Từ chối nhầm",
    "grounding_violations": "Số liệu không có trong điều khoản dẫn",
    "p50_ms": "Thời gian trung vị (ms)",
    "p95_ms": "Thời gian p95 (ms)",
    "errors": "Lỗi",
}
SYSTEM_LABELS = {"system": "Trợ lý", "bm25_only": "Chỉ BM25", "dense_only": "Chỉ vector",
                 "naive_rag": "RAG đơn giản (LangChain)"}
KIND_LABELS = {"target": "chỉ tiêu năm kế hoạch", "result_2023": "kết quả năm trước", "task": "nhiệm vụ",
               "which_clause": "điều khoản nào", "compare": "so sánh", "meta": "thông tin văn bản",
               "followup": "hỏi tiếp", "unanswerable": "ngoài nghị quyết"}


def _runner():
    """eval.runner and eval.report, or None when they are not installed in this checkout."""
    try:
        from eval import report, runner
    except ImportError as exc:
        log.warning("eval runner unavailable: %s", exc)
        return None
    return runner, report


def parse_questions(data: bytes, required: tuple[str, ...]) -> list[dict]:
    """Check an uploaded eval set line by line; ValueError with a Vietnamese message naming the line."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError("Tệp quá lớn (tối đa 5 MB).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("Tệp không phải văn bản UTF-8.") from None
    questions, seen = [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"Dòng {n}: không phải JSON hợp lệ.") from None
        if not isinstance(item, dict):
            raise ValueError(f"Dòng {n}: mỗi dòng phải là một đối tượng JSON.")
        missing = [k for k in required if k not in item]
        if missing:
            raise ValueError(f"Dòng {n}: thiếu trường {', '.join(missing)}.")
        if not isinstance(item.get("question"), str) or not item["question"].strip():
            raise ValueError(f"Dòng {n}: “question” phải là câu hỏi không rỗng.")
        for key in ("gold", "facts", "also_ok", "history"):
            if key in item and not isinstance(item[key], list):
                raise ValueError(f"Dòng {n}: “{key}” phải là một danh sách.")
        if "answerable" in item and not isinstance(item["answerable"], bool):
            raise ValueError(f"Dòng {n}: “answerable” phải là true hoặc false.")
        if item.get("answerable") and not item.get("gold"):
            raise ValueError(f"Dòng {n}: câu hỏi trả lời được nhưng chưa có điều khoản đúng (“gold”).")
        qid = item.get("id", f"line-{n}")
        if qid in seen:
            raise ValueError(f"Dòng {n}: trùng id {qid}.")
        seen.add(qid)
        item.setdefault("id", qid)
        item.setdefault("kind", "?")
        item.setdefault("also_ok", [])
        item.setdefault("history", [])
        questions.append(item)
    if not questions:
        raise ValueError("Tệp không có câu hỏi nào.")
    return questions


def stratified(questions: list[dict], n: int) -> list[dict]:
    """A sample of ``n`` that takes each kind in turn (in file order within a kind), so that a short run
    still covers every kind of question instead of the first few of the file.

    >>> qs = [{"id": i, "kind": k} for i, k in enumerate("aaaabbc")]
    >>> [q["id"] for q in stratified(qs, 4)]
    [0, 4, 6, 1]
    """
    by_kind: dict[str, list[dict]] = {}
    for q in questions:
        by_kind.setdefault(q.get("kind", "?"), []).append(q)
    queues = list(by_kind.values())
    picked: list[dict] = []
    depth = 0
    while len(picked) < min(n, len(questions)):
        for queue in queues:
            if depth < len(queue) and len(picked) < n:
                picked.append(queue[depth])
        depth += 1
    return picked


def _kinds_line(chosen: list[dict]) -> str:
    counts = Counter(q.get("kind", "?") for q in chosen)
    return ", ".join(f"{KIND_LABELS.get(k, k)} {v}" for k, v in counts.items())


def render(assistant, settings, doc: str | None) -> None:
    st.header("Đánh giá chất lượng")
    modules = _runner()
    if modules is None:
        st.info("Bộ chạy đánh giá (eval/runner.py) chưa có trong bản cài đặt này. "
                "Trang này sẽ hoạt động khi bộ chạy được thêm vào.")
        return
    runner, report = modules
    st.caption("Chạy bộ câu hỏi kiểm thử qua trợ lý và chấm: tìm đúng điều khoản, đủ dữ kiện, trích dẫn đúng, "
               "từ chối đúng câu ngoài nghị quyết.")
    source = st.radio("Bộ câu hỏi", ["Bộ có sẵn (eval/questions.jsonl)", "Tải tệp JSONL cùng định dạng"],
                      horizontal=True, key="eval_source")
    questions = None
    if source.startswith("Bộ có sẵn"):
        try:
            questions = runner.load_questions(runner.DEFAULT_QUESTIONS)
        except (ValueError, OSError) as exc:
            log.warning("bundled eval set unreadable: %s", exc)
            st.error("Không đọc được bộ câu hỏi có sẵn (eval/questions.jsonl).")
            return
    else:
        upload = st.file_uploader("Tệp câu hỏi (.jsonl), mỗi dòng một câu hỏi như eval/questions.jsonl",
                                  type=["jsonl"], key="eval_upload")
        if upload is not None:
            try:
                questions = parse_questions(upload.getvalue(), tuple(getattr(runner, "REQUIRED", ("question",))))
            except ValueError as exc:  # our own Vietnamese message, naming the line
                st.error("Bộ câu hỏi không hợp lệ. " + escape_markdown(str(exc)))
                return
    if questions is None:
        return

    left, right = st.columns(2)
    limit = left.number_input("Số câu hỏi chạy (0 = tất cả)", min_value=0, max_value=len(questions),
                              value=0, step=10, key="eval_limit")
    baselines = right.checkbox("So sánh với các phương án cơ sở (chậm hơn)", value=False, key="eval_baselines")
    chosen = stratified(questions, int(limit)) if limit else questions
    st.caption(f"{len(chosen)} / {len(questions)} câu hỏi"
               + (f", lấy đều theo loại: {_kinds_line(chosen)}." if limit else "."))
    if st.button("Chạy đánh giá", icon=":material/play_arrow:", type="primary", key="eval_run"):
        bar = st.progress(0.0, text="Đang chuẩn bị…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0, text=f"Đã chạy {done}/{total}")

        try:
            result = runner.run_eval(assistant, chosen, progress=progress, baselines=baselines, doc=doc)
        except Exception as exc:  # noqa: BLE001
            state.show_error(exc, "evaluation")
            return
        bar.empty()
        st.session_state["eval_result"] = result
    result = st.session_state.get("eval_result")
    if result:
        _show(result, report)


def _show(result: dict, report) -> None:
    meta = result.get("meta", {})
    seconds = meta.get("seconds")
    took = seconds_vi(seconds) if isinstance(seconds, (int, float)) else "?"
    st.success(f"Đã chấm {meta.get('questions', '?')} câu hỏi trong {took} giây "
               f"(mô hình nhúng {meta.get('embedding_model', '?')}, "
               f"cách trả lời: {backend_label(meta.get('answerer', '?'))}).")
    st.subheader("Kết quả chính")
    headline = result.get("headline", {})
    table = pd.DataFrame({
        SYSTEM_LABELS.get(name, name): {METRIC_LABELS[k]: values.get(k) for k in METRIC_LABELS}
        for name, values in headline.items()
    })
    st.dataframe(table, width="stretch", key="eval_headline", placeholder="–")

    system = result.get("systems", {}).get("system", {})
    per_kind = system.get("per_kind", {})
    if per_kind:
        st.subheader("Theo loại câu hỏi")
        kinds = pd.DataFrame({KIND_LABELS.get(kind, kind): {
            "Số câu": s.get("questions"), "R@5": s.get("recall@5"), "Đủ dữ kiện": s.get("all_facts"),
            "Trích dẫn đúng": s.get("citation_hit"), "Từ chối đúng": s.get("refusal_acc"),
            "Từ chối nhầm": s.get("false_refusal"), "Không đạt": s.get("failed"),
        } for kind, s in per_kind.items()}).T
        st.dataframe(kinds, width="stretch", key="eval_kinds", placeholder="–")

    _plots(result, report)

    failed = [r for r in result.get("results", {}).get("system", []) if r.get("failed")]
    st.subheader(f"Câu hỏi chưa đạt ({len(failed)})")
    if failed:
        st.dataframe(pd.DataFrame([{
            "id": r["id"], "Loại": KIND_LABELS.get(r.get("kind"), r.get("kind")), "Câu hỏi": r["question"],
            "Mong đợi": "từ chối" if not r.get("expected_answerable") else
            ", ".join(r.get("gold") or []) + (" · " + "; ".join(r["facts"]) if r.get("facts") else ""),
            "Trợ lý trả lời": r.get("answer") or ("(lỗi) " + r["error"] if r.get("error") else ""),
            "Đã dẫn": ", ".join(r.get("cited") or []),
            "Top 3 tìm được": ", ".join((r.get("ranked") or [])[:3]),
        } for r in failed]), hide_index=True, width="stretch", key="eval_failed")
    else:
        st.caption("Không có câu nào chưa đạt.")
    st.download_button("Tải kết quả (JSON)", icon=":material/download:", key="eval_json", mime="application/json",
                       file_name="ket-qua-danh-gia.json",
                       data=json.dumps(result, ensure_ascii=False, indent=1, default=str).encode("utf-8"))


def _plots(result: dict, report) -> None:
    """eval.report's own plots, drawn into a temporary folder and shown as images."""
    if not hasattr(report, "write_plots"):
        return
    try:
        with tempfile.TemporaryDirectory(prefix="tlnq-eval-") as tmp:
            names = report.write_plots(result, Path(tmp), lang="vi")
            images = [(name, (Path(tmp) / path).read_bytes()) for name, path in names.items()]
    except Exception:  # noqa: BLE001 — plots are a bonus; the tables are already shown
        log.exception("eval plots failed")
        st.caption("Không vẽ được biểu đồ cho lần chạy này.")
        return
    st.subheader("Biểu đồ")
    captions = {"per_kind": "Các chỉ số theo loại câu hỏi", "systems": "Trợ lý so với các phương án cơ sở",
                "latency": "Thời gian trả lời"}
    for name, data in images:
        st.image(data, caption=captions.get(name, name))
