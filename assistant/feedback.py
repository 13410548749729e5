"""👍/👎 feedback on answers, appended as JSON lines to ``settings.feedback_file``.

Each line has the shape of an eval-set item (``question``, ``history``,
``answerable``) plus what was answered and said about it, so a reviewed line can
be copied into ``eval/questions.jsonl`` (``citations`` -> ``gold``):

    {"id": "fb-…", "time": "…", "question": "…", "history": [{"role": …, "content": …}],
     "answer": "…", "answerable": true, "citations": ["D2/K2/M2.1/CT1"],
     "labels": ["chỉ tiêu (1), mục 2.1, khoản 2, Điều 2"], "doc": "…",
     "rating": "up" | "down", "comment": "…", "backend": "…", "embedding_model": "…"}

The file is append-only: a later line with the same ``id`` (a comment added after
the rating) replaces the earlier one when read back with :func:`load_feedback`.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

from assistant.types import Answer

log = logging.getLogger(__name__)
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000
_lock = threading.Lock()


def new_feedback_id() -> str:
    return f"fb-{uuid.uuid4().hex[:12]}"


def feedback_record(question: str, history: list[dict] | None, answer: Answer | dict, rating: str,
                    comment: str = "", *, feedback_id: str | None = None, doc: str | None = None) -> dict:
    """The JSON line for one rating; ``answer`` is an Answer or its ``to_dict()``."""
    if rating not in RATINGS:
        raise ValueError(f"unknown rating {rating!r}; expected one of: {', '.join(RATINGS)}")
    data = answer.to_dict() if isinstance(answer, Answer) else dict(answer)
    citations = data.get("citations") or []
    return {
        "id": feedback_id or new_feedback_id(),
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question": question,
        "history": [{"role": h["role"], "content": h["content"]} for h in (history or [])],
        "answer": data.get("answer", ""),
        "answerable": bool(data.get("answerable", False)),
        "citations": [c["clause_id"] for c in citations],
        "labels": [c.get("label", "") for c in citations],
        "doc": doc or next((c.get("doc", "") for c in citations if c.get("doc")), ""),
        "rating": rating,
        "comment": (comment or "").strip()[:MAX_COMMENT_CHARS],
        "backend": data.get("backend", ""),
        "embedding_model": data.get("embedding_model", ""),
    }


def append_feedback(path: Path | str, record: dict) -> None:
    """Append one JSON line; safe from several threads of one process (Streamlit sessions)."""
    path = Path(path)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line in append mode: lines from other processes don't interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


def record_feedback(settings, question: str, history: list[dict] | None, answer: Answer | dict, rating: str,
                    comment: str = "", *, feedback_id: str | None = None, doc: str | None = None) -> dict:
    """Build and append the record to ``settings.feedback_file``; returns it."""
    record = feedback_record(question, history, answer, rating, comment, feedback_id=feedback_id, doc=doc)
    append_feedback(settings.feedback_file, record)
    log.info("feedback %s: %s", record["id"], rating)
    return record


def load_feedback(path: Path | str) -> list[dict]:
    """Every record, the last line winning for each id; unreadable lines are skipped (and logged)."""
    path = Path(path)
    if not path.is_file():
        return []
    records: dict[str, dict] = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: not JSON, skipped", path, number)
                continue
            records[row.get("id") or f"line-{number}"] = row
    return list(records.values())
