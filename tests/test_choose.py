"""The calibrated decision: the ranker picks, answerability decides, reasons are named."""
from __future__ import annotations

import json

import pytest

from assistant.calibration import ANSWER_EXTRA, CALIBRATION_DIR, Calibration, Linear, load_calibration
from assistant.choose import choose
from assistant.evidence import Candidate, Segment
from assistant.features import Features, Reason
from assistant.query import analyse

NAMES = tuple(Features.names())


def _linear(names, **coef) -> Linear:
    return Linear(tuple(names), (0.0,) * len(names), (1.0,) * len(names),
                  tuple(float(coef.get(n, 0.0)) for n in names), 0.0)


def _calibration(threshold=0.5, sibling=0.9, hard=(), **answer) -> Calibration:
    """The ranker trusts coverage; answerability trusts the ranker's probability (unit weights)."""
    ranker = _linear(NAMES, coverage=8.0, year_mismatch=-20.0)
    answerability = _linear(NAMES + ANSWER_EXTRA, **({"rank_p": 10.0} | answer))
    answerability = Linear(answerability.names, answerability.mean, answerability.scale, answerability.coef, -5.0)
    return Calibration("test", ranker, answerability, threshold, sibling, 0.0, frozenset(hard), {})


def _cand(clause_id: str, coverage: float, why_not: str = "") -> Candidate:
    seg = Segment("Tỷ lệ hộ nghèo giảm còn 1,5%.", set(), set())
    cand = Candidate("doc", clause_id, clause_id, 1.0, seg.text, seg.text, None, [seg])
    cand.coverage, cand.why_not = coverage, why_not
    return cand


def test_the_ranker_chooses_not_the_retrieval_order():
    q = analyse("Tỷ lệ hộ nghèo là bao nhiêu?")
    first, second = _cand("D1/K1", 0.1), _cand("D2/K3", 0.9)
    evidence, reason, answerability = choose(q, [first, second], _calibration(), False)
    assert evidence == [second] and reason is Reason.ANSWERED and answerability > 0.5
    assert second.probability > first.probability


def test_low_answerability_is_a_refusal_with_its_reason():
    q = analyse("Tỷ lệ hộ nghèo là bao nhiêu?")
    evidence, reason, answerability = choose(q, [_cand("D1/K1", 0.2)], _calibration(threshold=0.99), False)
    assert evidence == [] and reason is Reason.LOW_CONFIDENCE and answerability < 0.99


def test_a_failed_predicate_names_the_refusal():
    q = analyse("Tỷ lệ hộ nghèo năm 2030 là bao nhiêu?")
    cand = _cand("D1/K1", 0.9, why_not="year")
    evidence, reason, _ = choose(q, [cand], _calibration(), False)
    assert evidence == [] and reason is Reason.YEAR  # the ranker's weight on the mismatch sinks it
    evidence, reason, _ = choose(q, [cand], _calibration(threshold=0.0, hard=(Reason.YEAR,)), False)
    assert evidence == [] and reason is Reason.YEAR and not cand.eligible  # excluded outright


def test_a_sibling_nearly_as_probable_is_cited_too():
    q = analyse("Ai chịu trách nhiệm giám sát?")
    best, sibling, cousin = _cand("D3/K2", 0.9), _cand("D3/K3", 0.89), _cand("D2/K1", 0.89)
    evidence, _, _ = choose(q, [best, sibling, cousin], _calibration(sibling=0.95), False)
    assert evidence == [best, sibling]
    evidence, _, _ = choose(q, [best, sibling, cousin], _calibration(sibling=1.01), False)
    assert evidence == [best]


def test_nothing_retrieved():
    assert choose(analyse("abc"), [], _calibration(), False) == ([], Reason.NOTHING_RETRIEVED, 0.0)


def test_calibration_round_trips_through_json():
    cal = _calibration(hard=(Reason.NAME,))
    again = Calibration.from_json(json.loads(json.dumps(cal.to_json())))
    assert again == cal


def test_a_calibration_naming_an_unknown_feature_is_refused():
    data = _calibration().to_json()
    data["ranker"]["weights"]["shoe_size"] = {"mean": 0, "scale": 1, "coef": 1}
    with pytest.raises(ValueError, match="shoe_size"):
        Calibration.from_json(data)


@pytest.mark.parametrize("path", sorted(CALIBRATION_DIR.glob("*.json")), ids=lambda p: p.name)
def test_shipped_calibrations_load_and_say_how_they_were_fitted(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    cal = Calibration.from_json(data)
    assert cal.ranker.names == NAMES  # every feature has a fitted weight
    assert 0.0 < cal.threshold < 1.0
    assert cal.fitted["command"].startswith("python -m eval.calibrate")
    assert cal.fitted["train"]["questions"] > 500 and "dev_curve" in cal.fitted
    assert not set(cal.fitted["train"]["files"]) & set(cal.fitted["dev"]["files"])


def test_an_unknown_model_uses_the_default_calibration():
    assert load_calibration("some-other-model").threshold == load_calibration("default").threshold


def _row(qid, answerable, gold_cov, other_cov, reasons=()):
    def cand(cid, cov, label):
        f = dict.fromkeys(NAMES, 0.0) | {"coverage": cov}
        return {"clause_id": cid, "features": [f[n] for n in NAMES], "reasons": list(reasons), "years": [],
                "label": label}

    from eval.calibrate import Row

    return Row(qid, answerable, "target", [cand("D1/K1", gold_cov, int(answerable)), cand("D1/K2", other_cov, 0)],
               [], False)


def test_fitting_learns_that_covered_clauses_answer_and_the_threshold_keeps_false_refusal_bounded():
    from eval.calibrate import decisions, fit, pick_threshold

    import random

    rng = random.Random(0)
    rows = [_row(f"a{i}", True, rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.5)) for i in range(80)]
    rows += [_row(f"u{i}", False, rng.uniform(0.0, 0.5), rng.uniform(0.0, 0.5)) for i in range(20)]
    flat = [c for r in rows for c in r.candidates]
    ranker = fit([c["features"] for c in flat], [c["label"] for c in flat], 1.0)
    assert dict(zip(ranker.names, ranker.coef))["coverage"] > 0
    cal = _calibration()
    cal = Calibration("t", ranker, cal.answerability, 0.5, 0.9, 0.0, frozenset(), {})
    table = decisions(rows, cal)
    assert all(ok for answerable, _, ok in table if answerable)  # the covered clause ranks first
    point = pick_threshold(table, 0.05)
    assert point["false_refusal"] <= 0.05 and point["answered_right"] >= 0.95


def test_a_question_with_nothing_eligible_is_refused_at_any_threshold():
    from eval.calibrate import at_threshold, decisions

    rows = [_row("a", True, 0.9, 0.1, reasons=("year",))]
    table = decisions(rows, _calibration(hard=(Reason.YEAR,)))
    assert table == [(True, None, False)] and at_threshold(table, 0.0)["false_refusal"] == 1.0


def test_a_named_clause_answers_not_a_more_probable_other():
    """'Chỉ tiêu (7) là gì?': the question names its clause; a better-covered other clause never answers
    it, and the named one answers even below the threshold when no predicate fails."""
    q = analyse("Chỉ tiêu (7) là gì?")
    other, named = _cand("D2/K2/M2.1/CT5", 0.9), _cand("D2/K2/M2.1/CT7", 0.1)
    named.explicit = True
    evidence, reason, _ = choose(q, [other, named], _calibration(threshold=0.99), False)
    assert evidence == [named] and reason is Reason.ANSWERED


def test_a_part_of_the_named_clause_may_answer():
    q = analyse("Mục 3.5 nói gì về du lịch?")
    whole, part, elsewhere = _cand("D2/K3/M3.5", 0.2), _cand("D2/K3/M3.5/a", 0.9), _cand("D2/K3/M3.6", 0.95)
    whole.explicit = True
    evidence, _, _ = choose(q, [whole, part, elsewhere], _calibration(), False)
    assert evidence[0] is part


def test_a_clause_number_the_document_lacks_is_refused():
    from dataclasses import replace

    q = replace(analyse("Chỉ tiêu (25) là gì?"), unknown_clause=True)  # as Assistant.candidates sets it
    evidence, reason, _ = choose(q, [_cand("D2/K2/M2.1/CT5", 0.9)], _calibration(threshold=0.0), False)
    assert evidence == [] and reason is Reason.CLAUSE


def test_a_named_clause_still_fails_its_predicates():
    q = analyse("Chỉ tiêu (7) năm 2030 là bao nhiêu?")
    named = _cand("D2/K2/M2.1/CT7", 0.9, why_not="year")
    named.explicit = True
    evidence, reason, _ = choose(q, [named], _calibration(), False)
    assert evidence == [] and reason is Reason.YEAR


LIST_CLAUSES = [
    {"doc": "d", "clause_id": "D8", "kind": "D", "label": "Điều 8", "title": "Quyền lợi", "text": "", "parent": None},
    {"doc": "d", "clause_id": "D8/K1", "kind": "K", "label": "khoản 1, Điều 8", "parent": "D8",
     "text": "Người được tặng danh hiệu công dân danh dự được hưởng các quyền lợi sau:"},
    {"doc": "d", "clause_id": "D8/K1/Pa", "kind": "P", "label": "điểm a, khoản 1, Điều 8", "parent": "D8/K1",
     "text": "Được mời dự các sự kiện chính trị, văn hóa lớn của thành phố."},
    {"doc": "d", "clause_id": "D8/K1/Pb", "kind": "P", "label": "điểm b, khoản 1, Điều 8", "parent": "D8/K1",
     "text": "Được miễn phí tham quan các bảo tàng, di tích do thành phố quản lý."},
    {"doc": "d", "clause_id": "D8/K2", "kind": "K", "label": "khoản 2, Điều 8", "parent": "D8",
     "text": "Kinh phí bảo đảm từ ngân sách thành phố."},
]


def _reader(clauses):
    from assistant.decide import Reader
    from assistant.evidence import EvidenceSelector

    return Reader(None, EvidenceSelector(clauses), "test", 6)


def test_a_quote_that_introduces_a_list_is_answered_with_its_items():
    """'… được hưởng các quyền lợi sau:' is no answer to 'quyền lợi gì': the items are, in order, within the
    length budget; a sibling clause that is not an item stays out."""
    reader = _reader(LIST_CLAUSES)
    q = analyse("Người được tặng danh hiệu công dân danh dự có những quyền lợi gì?")
    lead = reader.selector.candidate("d", "D8/K1", 1.0)
    reader.selector.judge(q, lead)
    assert lead.chosen[-1].endswith("sau:")
    got = reader.list_items(q, [lead], budget=1000)
    assert [c.clause_id for c in got] == ["D8/K1", "D8/K1/Pa", "D8/K1/Pb"]
    assert got[2].chosen == ["Được miễn phí tham quan các bảo tàng, di tích do thành phố quản lý."]
    assert [c.clause_id for c in reader.list_items(q, [lead], budget=140)] == ["D8/K1", "D8/K1/Pa"]
    assert reader.list_items(q, [lead], budget=0) == [lead]  # off


def test_a_quote_that_states_its_content_is_left_alone():
    reader = _reader(LIST_CLAUSES)
    q = analyse("Kinh phí bảo đảm từ đâu?")
    cand = reader.selector.candidate("d", "D8/K2", 1.0)
    reader.selector.judge(q, cand)
    assert reader.list_items(q, [cand], budget=1000) == [cand]
