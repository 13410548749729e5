"""The fitted answer decision: every weight and threshold of it, read from one file per embedder.

Two logistic models, both fitted by ``python -m eval.calibrate`` on the train split:

- the *ranker* scores each candidate clause (one row per question and candidate, label "a gold
  clause");
- the *answerability* model scores the question from its best candidate's features, that
  candidate's ranker probability and its margin over the runner-up (label "answerable").

The question is answered when its answerability reaches ``threshold``, chosen on the dev split.
The file is ``assistant/data/calibration/<model>.json``; a model without its own file uses
``default.json``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.features import Features, Reason

CALIBRATION_DIR = Path(__file__).parent / "data" / "calibration"
ANSWER_EXTRA = ("rank_p", "rank_margin")  # the answerability model's inputs beside the best candidate's Features


@dataclass(frozen=True)
class Linear:
    """A logistic model over named, standardised inputs."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def probability(self, values: dict[str, float]) -> float:
        """sigmoid(intercept + Σ coef · (value − mean) / scale).

        >>> Linear(("coverage",), (0.5,), (0.25,), (2.0,), 0.0).probability({"coverage": 0.75})
        0.8807970779778823
        """
        z = self.intercept + sum(w * (values[n] - m) / s
                                 for n, m, s, w in zip(self.names, self.mean, self.scale, self.coef))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict:
        return {"weights": {n: {"mean": m, "scale": s, "coef": w}
                            for n, m, s, w in zip(self.names, self.mean, self.scale, self.coef)},
                "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict, known: tuple[str, ...]) -> "Linear":
        weights = data["weights"]
        names = tuple(weights)
        unknown = set(names) - set(known)
        if unknown:
            raise ValueError(f"calibration names unknown inputs: {sorted(unknown)}")
        return cls(names, tuple(float(weights[n]["mean"]) for n in names),
                   tuple(float(weights[n]["scale"]) or 1.0 for n in names),
                   tuple(float(weights[n]["coef"]) for n in names), float(data["intercept"]))


def answer_inputs(best: Features, rank_p: float, runner_up_p: float) -> dict[str, float]:
    return dict(zip(Features.names(), best.vector())) | {"rank_p": rank_p, "rank_margin": rank_p - runner_up_p}


@dataclass(frozen=True)
class Calibration:
    model: str
    ranker: Linear
    answerability: Linear
    threshold: float  # answer when the question's answerability reaches it
    sibling_ratio: float  # a sibling clause this close to the best one (ranker probability) is cited too
    compare_ratio: float  # in a comparison, the clause for another year asked needs this share of the best's
    hard: frozenset[Reason]  # reasons that exclude a candidate whatever its probability
    fitted: dict
    list_chars: int = 0  # a quote that only introduces a list is answered with its items, up to this length

    def rank(self, f: Features) -> float:
        return self.ranker.probability(dict(zip(Features.names(), f.vector())))

    def answerable(self, best: Features, rank_p: float, runner_up_p: float) -> float:
        return self.answerability.probability(answer_inputs(best, rank_p, runner_up_p))

    def to_json(self) -> dict:
        return {"model": self.model, "ranker": self.ranker.to_json(), "answerability": self.answerability.to_json(),
                "threshold": self.threshold, "sibling_ratio": self.sibling_ratio,
                "compare_ratio": self.compare_ratio,
                "hard": sorted(r.value for r in self.hard), "list_chars": self.list_chars, "fitted": self.fitted}

    @classmethod
    def from_json(cls, data: dict) -> "Calibration":
        names = tuple(Features.names())
        return cls(model=data["model"], ranker=Linear.from_json(data["ranker"], names),
                   answerability=Linear.from_json(data["answerability"], names + ANSWER_EXTRA),
                   threshold=float(data["threshold"]), sibling_ratio=float(data["sibling_ratio"]),
                   compare_ratio=float(data["compare_ratio"]),
                   hard=frozenset(Reason(r) for r in data["hard"]), fitted=dict(data.get("fitted") or {}),
                   list_chars=int(data.get("list_chars", 0)))


def calibration_path(model_name: str) -> Path:
    own = CALIBRATION_DIR / f"{model_name}.json"
    return own if own.is_file() else CALIBRATION_DIR / "default.json"


@lru_cache(maxsize=None)
def load_calibration(model_name: str) -> Calibration:
    return Calibration.from_json(json.loads(calibration_path(model_name).read_text(encoding="utf-8")))
