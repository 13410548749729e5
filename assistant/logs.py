"""One structured line per question in a rotating file; no question text unless allowed."""
from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timezone
from logging.handlers import RotatingFileHandler

_lock = threading.Lock()
_loggers: dict[str, logging.Logger] = {}


def _question_logger(path) -> logging.Logger:
    key = str(path)
    with _lock:
        if key not in _loggers:
            path.parent.mkdir(parents=True, exist_ok=True)
            logger = logging.getLogger(f"tlnq.questions.{len(_loggers)}")
            logger.propagate = False
            logger.setLevel(logging.INFO)
            handler = RotatingFileHandler(path, maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            _loggers[key] = logger
        return _loggers[key]


def log_question(settings, question: str, answer) -> None:
    record = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "question_chars": len(question),
        "backend": answer.backend,
        "embedding_model": answer.embedding_model,
        "cited": [c.clause_id for c in answer.citations],
        "answerable": answer.answerable,
        "grounding_removed": answer.grounding.removed_sentences,
        "latency_ms": answer.timings_ms.total,
    }
    if settings.log_question_text:
        record["question"] = question
    try:
        _question_logger(settings.log_file).info(json.dumps(record, ensure_ascii=False))
    except OSError as exc:  # a full disk must not stop answering
        logging.getLogger(__name__).warning("question log not written: %s", exc)
