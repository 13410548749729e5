"""Quality gate: the default backend on the whole eval set must stay above measured floors.

Floors sit just under what was measured (EmbeddingGemma: all-facts 0.938, citation hit
0.964, refusal 0.88, false refusal 0.021), so a regression cannot land.
"""
from __future__ import annotations

import json

from tests.conftest import REPO

FLOORS = {"all_facts": 0.90, "citation_hit": 0.95, "refusal_acc": 0.85}
CEILINGS = {"false_refusal": 0.05, "grounding_violations": 0}


def test_default_backend_meets_quality_floors(real_assistant):
    from eval.runner import run_eval

    questions = [json.loads(line) for line in (REPO / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    metrics = run_eval(real_assistant, questions, baselines=False)
    overall = metrics["systems"]["system"]["overall"]
    failures = [f"{k}={overall[k]:.3f} < {v}" for k, v in FLOORS.items() if overall[k] < v]
    failures += [f"{k}={overall[k]} > {v}" for k, v in CEILINGS.items() if overall[k] > v]
    assert not failures, f"quality gate ({metrics['meta']['embedding_model']}): {failures}"
