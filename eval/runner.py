"""Run the eval set through the assistant (and the baselines) and score it.

``run_eval(assistant, questions)`` is what the CLI (``python -m eval``) and the
Streamlit app call; it returns the metrics as one JSON-ready dict.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from eval.metrics import K_RANKING, aggregate, headline, score_question

log = logging.getLogger(__name__)
DEFAULT_QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
REQUIRED = ("id", "question", "kind", "gold", "facts", "answerable")
Progress = Callable[[int, int], None]


def load_questions(path: Path = DEFAULT_QUESTIONS) -> list[dict]:
    """Read and check the eval set; a malformed line fails loudly with its line number."""
    questions, seen = [], set()
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON ({exc})") from None
            missing = [k for k in REQUIRED if k not in q]
            if missing:
                raise ValueError(f"{path}:{n}: missing {', '.join(missing)}")
            if q["id"] in seen:
                raise ValueError(f"{path}:{n}: duplicate id {q['id']}")
            if q["answerable"] and not q["gold"]:
                raise ValueError(f"{path}:{n}: answerable question without gold clauses")
            seen.add(q["id"])
            q.setdefault("also_ok", [])
            q.setdefault("history", [])
            questions.append(q)
    return questions


def clause_sources(clauses: list[dict]) -> dict[tuple[str, str], str]:
    """(doc, clause_id) -> the clause's text with its headings ('Điều 2 Mục tiêu… năm 2024')
    in front, and the lead its parent introduces it with ('Sửa đổi khoản 3 Điều 10 như sau:'):
    a number an answer takes from a heading or that lead is grounded too."""
    from assistant.evidence import list_lead

    by_key = {(c["doc"], c["clause_id"]): c for c in clauses}
    sources = {}
    for key, clause in by_key.items():
        heads, parent = [], clause.get("parent")
        while parent:
            node = by_key.get((key[0], parent))
            if node is None:
                break
            heads.append(f"{node['label']} {node.get('title', '')}")
            parent = node.get("parent")
        parent_node = by_key.get((key[0], clause.get("parent") or ""))
        lead = list_lead(clause, {clause.get("parent"): parent_node}) if parent_node else ""
        sources[key] = "\n".join(list(reversed(heads)) + [lead, clause.get("title", ""), clause.get("text", "")])
    return sources


def run_system(assistant, question: dict, sources: dict, doc: str | None = None) -> tuple[dict, str]:
    """The assistant's result for one question, and the search text it retrieved with."""
    from core.errors import AssistantError

    history = question.get("history") or None
    try:
        answer = assistant.ask(question["question"], history, doc)  # one retrieval: the answer carries its ranking
    except AssistantError as exc:  # scored as a failure, the run goes on
        log.warning("question %s: %s", question["id"], exc)
        return {"ranked": [], "answer": "", "answered": False, "cited": [], "error": str(exc)}, question["question"]
    result = {
        "ranked": [r.clause_id for r in answer.ranking[:K_RANKING]],
        "answer": answer.answer,
        "answered": bool(answer.answerable),
        "cited": [c.clause_id for c in answer.citations],
        "cited_labels": [c.label for c in answer.citations],
        "cited_sources": [sources.get((c.doc, c.clause_id), c.quote) for c in answer.citations],
        "contexts": list(answer.contexts),
        "removed_sentences": answer.grounding.removed_sentences,
        "latency_ms": answer.timings_ms.total,
        "retrieve_ms": answer.timings_ms.retrieve,
        "first_token_ms": answer.timings_ms.first_token,
        "backend": answer.backend,
    }
    if not answer.answerable:
        result["related"] = [c.clause_id for c in answer.related]
    return result, answer.search_text


def run_eval(assistant, questions: list[dict], *, progress: Progress | None = None, baselines: bool = True,
             doc: str | None = None, load_times: dict | None = None) -> dict:
    """Score the assistant (and, unless ``baselines=False``, the three baselines) on ``questions``.

    ``progress(done, total)`` is called after every (system, question) pair.
    """
    started = time.perf_counter()
    progress = progress or (lambda done, total: None)
    others = {}
    if baselines:
        from eval.baselines import make_baselines

        others = make_baselines(assistant, doc=doc)
    total, done = len(questions) * (1 + len(others)), 0
    progress(done, total)
    _warm_up(assistant, questions, doc)
    sources = clause_sources(assistant.index.clauses)
    rows: dict[str, list[dict]] = {"system": [], **{name: [] for name in others}}
    backends: Counter = Counter()
    try:
        keys = {d["key"] for d in assistant.index.documents}
        for q in questions:
            qdoc = doc or question_doc(q, keys)
            result, search_text = run_system(assistant, q, sources, qdoc)
            backends[result.get("backend", "error")] += 1
            rows["system"].append(score_question(q, result) | _extra(result))
            done += 1
            progress(done, total)
            for name, baseline in others.items():
                rows[name].append(score_question(q, baseline.run(q, search_text)))
                done += 1
                progress(done, total)
    finally:
        for baseline in others.values():
            getattr(baseline, "close", lambda: None)()

    settings = assistant.settings
    systems = {name: aggregate(r) for name, r in rows.items()}
    return {
        "meta": {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "questions": len(questions),
            "kinds": dict(Counter(q["kind"] for q in questions)),
            "embedding_model": assistant.index.embedding_model,
            "answerer": settings.answerer,
            "backends_used": dict(backends),
            "index_generation": assistant.index.generation,
            "documents": [d["key"] for d in assistant.index.documents],
            "doc": doc,
            "settings": {k: getattr(settings, k) for k in ("top_k", "rrf_k")}
            | {"answer_threshold": assistant.calibration.threshold, "bm25_weight": assistant.retriever.bm25_weight,
               "dense_weight": assistant.retriever.dense_weight},
            "naive_chunks": getattr(others.get("naive_rag"), "chunks", None),
            "warnings": list(assistant.warnings),
            "seconds": round(time.perf_counter() - started, 1),
        },
        "load": dict(load_times or {}),
        "headline": {name: headline(m["overall"]) for name, m in systems.items()},
        "systems": systems,
        "results": rows,
    }


def question_doc(question: dict, keys: set[str]) -> str | None:
    """The indexed document a question is asked of ('doc': its file name), as an official scopes the chat.

    >>> question_doc({"doc": "NQ 412-2023 Hưng Yên.txt"}, {"nq-412-2023-hung-yen"}), question_doc({}, set())
    ('nq-412-2023-hung-yen', None)
    """
    from index.build import document_key

    name = question.get("doc")
    if not name:
        return None
    key = document_key(Path(name))
    return key if key in keys else None


def _warm_up(assistant, questions: list[dict], doc: str | None) -> None:
    """One untimed question first: the first encode and query pay one-off start-up costs."""
    from core.errors import AssistantError

    if questions:
        try:
            assistant.ask(questions[0]["question"], None, doc)
        except AssistantError:
            pass


def _extra(result: dict) -> dict:
    """What only the assistant returns, kept on its rows for the failure report."""
    return {k: result[k] for k in ("backend", "related") if k in result}
