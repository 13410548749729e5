"""Quality gate: the default backend must stay above measured floors on both question sets.

Floors sit just under what was measured with EmbeddingGemma, so a regression cannot land:
- questions.jsonl (217, the set the thresholds were tuned on): all facts 0.948, citation hit
  0.984, refusal 0.88, false refusal 0.010;
- holdout.jsonl (60, written independently of it, never tuned on): all facts 0.750, citation
  hit 0.932, refusal 0.917, false refusal 0.083. Lower, and the honest figure for new questions.
"""
from __future__ import annotations

import json

import pytest

from tests.conftest import REPO

GATES = {
    "questions.jsonl": ({"all_facts": 0.92, "citation_hit": 0.95, "refusal_acc": 0.85},
                        {"false_refusal": 0.03, "grounding_violations": 0}),
    "holdout.jsonl": ({"all_facts": 0.70, "citation_hit": 0.90, "refusal_acc": 0.85},
                      {"false_refusal": 0.12, "grounding_violations": 0}),
}


@pytest.mark.parametrize("name", list(GATES))
def test_default_backend_meets_quality_floors(real_assistant, name):
    from eval.runner import run_eval

    FLOORS, CEILINGS = GATES[name]
    questions = [json.loads(line) for line in (REPO / "eval" / name).read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    metrics = run_eval(real_assistant, questions, baselines=False)
    overall = metrics["systems"]["system"]["overall"]
    failures = [f"{k}={overall[k]:.3f} < {v}" for k, v in FLOORS.items() if overall[k] < v]
    failures += [f"{k}={overall[k]} > {v}" for k, v in CEILINGS.items() if overall[k] > v]
    assert not failures, f"quality gate ({metrics['meta']['embedding_model']}): {failures}"
