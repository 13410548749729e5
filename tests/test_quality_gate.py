"""Quality gate: the default backend must stay above measured floors.

- eval/questions.jsonl (217, the project's own set; in the train split): the set the product
  must keep answering, all facts ≥ 0.92 (issue #12).
- The dev split (eval/splits.json: writers C and D, who never saw the code), sampled to keep the
  suite short: its questions on the bundled resolution, and its questions on the two smallest dev
  documents over an index of those two. The dev split is what the decision's threshold was chosen
  on, so a floor here catches a change that only helps the project's own set.

Floors sit just under what was measured with EmbeddingGemma and the shipped calibration
(figures in the README, 'Quality'); the test split is never run here.
"""
from __future__ import annotations


import pytest

from tests.conftest import CORPUS_DIR, REPO

DEV_DOCS = ("hue-37-2025-nq-hdnd-suadoi-giamngheo.txt", "hanoi-83-2025-nq-hdnd-congdan-danhdu.txt")
GATES = {  # measured at the commit that set them: 0.917/0.974/0.56/0.005; 0.824/0.882/0.44/0.0; 0.508/0.597/0.58/0.016
    "questions.jsonl": ({"all_facts": 0.90, "citation_hit": 0.95, "refusal_acc": 0.50},
                        {"false_refusal": 0.03, "grounding_violations": 0}),
    "dev: bundled resolution": ({"all_facts": 0.78, "citation_hit": 0.84, "refusal_acc": 0.35},
                                {"false_refusal": 0.06, "grounding_violations": 0}),
    "dev: two documents": ({"all_facts": 0.46, "citation_hit": 0.55, "refusal_acc": 0.45},
                           {"false_refusal": 0.06, "grounding_violations": 0}),
}


def _dev_questions(docs: set[str]) -> list[dict]:
    from eval.calibrate import split_files
    from eval.runner import load_questions

    files = split_files("dev")
    if not all(p.exists() for p in files):  # resolved gold ids are derived, not committed
        from eval.blind_gold import main as resolve

        resolve()
    return [q for p in files for q in load_questions(p) if q.get("doc") in docs]


@pytest.fixture(scope="module")
def dev_assistant(real_assistant, tmp_path_factory):
    """An index of the two small dev documents, built with the session's (cached) embedder."""
    from assistant.compose import make_assistant

    base = tmp_path_factory.mktemp("dev-gate")
    settings = real_assistant.settings.model_copy(update={
        "index_dir": base / "index", "documents": [CORPUS_DIR / name for name in DEV_DOCS],
        "log_file": base / "q.log"})
    return make_assistant(settings, build=True)


def _check(name: str, metrics: dict) -> None:
    floors, ceilings = GATES[name]
    overall = metrics["systems"]["system"]["overall"]
    failures = [f"{k}={overall[k]:.3f} < {v}" for k, v in floors.items() if overall[k] < v]
    failures += [f"{k}={overall[k]} > {v}" for k, v in ceilings.items() if overall[k] > v]
    print(name, {k: overall[k] for k in list(floors) + list(ceilings)})
    assert not failures, f"quality gate {name} ({metrics['meta']['embedding_model']}): {failures}"


def test_own_question_set(real_assistant):
    from eval.runner import load_questions, run_eval

    _check("questions.jsonl", run_eval(real_assistant, load_questions(REPO / "eval" / "questions.jsonl"),
                                       baselines=False))


def test_dev_split_on_the_bundled_resolution(real_assistant):
    from eval.runner import run_eval

    questions = _dev_questions({"nq-412-2023-hung-yen.txt"})
    assert len(questions) >= 50
    _check("dev: bundled resolution", run_eval(real_assistant, questions, baselines=False))


def test_dev_split_on_two_unseen_documents(dev_assistant):
    from eval.runner import run_eval

    questions = _dev_questions(set(DEV_DOCS))
    assert len(questions) >= 60
    _check("dev: two documents", run_eval(dev_assistant, questions, baselines=False))
