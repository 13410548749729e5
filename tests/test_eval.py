"""The eval runner: metrics on hand-made cases, bounds and exit codes, and one real run."""
from __future__ import annotations

import json
import unicodedata

import pytest

from eval import metrics as m
from eval.baselines import chunk_clauses, clause_spans, normalised_with_map


# -- ranking ---------------------------------------------------------------
def test_first_hit_rank_recall_and_mrr():
    ranked = ["D1/K1", "D2/K1", "D2/K2/M2.1/CT1", "HEADER"]
    ok = {"D2/K2/M2.1/CT1", "HEADER"}
    assert m.first_hit_rank(ranked, ok) == 3
    assert m.recall_at(ranked, ok, 1) == 0.0
    assert m.recall_at(ranked, ok, 2) == 0.0
    assert m.recall_at(ranked, ok, 3) == 1.0
    assert m.reciprocal_rank(ranked, ok) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(ranked, ok, k=2) == 0.0  # beyond the cut-off counts as a miss
    assert m.first_hit_rank([], ok) is None


def test_all_gold_needs_every_gold_clause_in_top_k():
    ranked = ["A", "B", "C", "D", "E", "F"]
    assert m.all_gold_in(ranked, ["A", "E"]) == 1.0
    assert m.all_gold_in(ranked, ["A", "F"]) == 0.0
    assert m.all_gold_in(ranked, ["A", "F"], k=6) == 1.0


# -- facts -----------------------------------------------------------------
def test_facts_match_after_nfc_and_whitespace_folding():
    answer = unicodedata.normalize("NFD", "Tỷ lệ hộ nghèo giảm còn 0,71%.\nGRDP tăng  7,5-8%")
    facts = ["hộ nghèo giảm còn 0,71%", "GRDP tăng 7,5-8%", "7,5 - 8%"]
    assert m.facts_found(answer, facts) == [True, True, False]
    assert m.facts_found(answer, ["0,71%", "121 triệu đồng"]) == [True, False] and m.facts_found(answer, []) == []


def test_fact_matching_keeps_case_and_accents():
    assert m.facts_found("ty le ho ngheo 0,71%", ["tỷ lệ hộ nghèo"]) == [False]
    assert m.facts_found("tỷ lệ hộ nghèo", ["Tỷ lệ hộ nghèo"]) == [False]


# -- citations and grounding -----------------------------------------------
def test_fact_figures_accept_rewording_but_not_a_label_number():
    from eval.metrics import fact_figures

    assert fact_figures("Xây dựng năm 2024 tăng 10%.", ["xây dựng tăng: 10%"]) == 1.0
    assert fact_figures("Còn 92,8 ha.", ["rà soát thu hồi 20 dự án", "92,8 ha"]) == 0.0
    assert fact_figures("Tăng 5% (chỉ tiêu (2), mục 2.1).", ["tăng 2%"], ["chỉ tiêu (2), mục 2.1"]) == 0.0
    assert fact_figures("Có.", ["sinh con thứ ba"]) is None


def test_citation_counts_count_each_id_once():
    assert m.citation_counts(["A", "B", "A", "C"], {"A", "C"}) == (2, 3)
    assert m.citation_counts([], {"A"}) == (0, 0)


def test_ungrounded_numbers_ignore_labels_and_respect_number_boundaries():
    labels = ["chỉ tiêu (1), mục 2.1, khoản 2, Điều 2"]
    source = ["Tổng sản phẩm (GRDP) tăng 7,5-8%, phấn đấu trên 8%;"]
    ok = "GRDP tăng 7,5-8%, phấn đấu trên 8% (chỉ tiêu (1), mục 2.1, khoản 2, Điều 2)."
    assert m.ungrounded_numbers(ok, labels, source) == []
    # '5' occurs only inside '7,5', '18' not at all
    assert m.ungrounded_numbers("GRDP tăng 5%, năm 18", labels, source) == ["5", "18"]
    # without the label removed, its numbers would be flagged
    assert m.ungrounded_numbers(ok, [], source) == ["1", "2.1", "2", "2"]


# -- one question, end to end ------------------------------------------------
QUESTION = {"id": "t1", "question": "?", "kind": "target", "gold": ["G1", "G2"], "also_ok": ["OK"],
            "facts": ["7,5-8%", "trên 8%"], "answerable": True}
UNANSWERABLE = {"id": "t2", "question": "?", "kind": "unanswerable", "gold": [], "also_ok": [], "facts": [],
                "answerable": False}


def test_score_answered_question():
    row = m.score_question(QUESTION, {
        "ranked": ["X", "OK", "G2", "G1"], "answer": "GRDP tăng 7,5-8% (chỉ tiêu (1)).", "answered": True,
        "cited": ["G1", "X"], "contexts": ["a", "phấn đấu trên 8%", "tăng 7,5-8%"],
        "cited_sources": ["tăng 7,5-8%"], "cited_labels": ["chỉ tiêu (1)"], "removed_sentences": 0})
    assert row["rank"] == 2 and row["recall@1"] == 0.0 and row["recall@3"] == 1.0
    assert row["mrr@10"] == 0.5
    assert row["all_gold@5"] == 1.0
    assert row["facts_found"] == [True, False] and row["all_facts"] == 0.0 and row["fact_coverage"] == 0.5
    assert row["facts_in_top5"] == 1.0
    assert row["citation_hit"] == 1.0 and (row["cited_ok"], row["cited_total"]) == (1, 2)
    assert row["false_refusal"] == 0.0 and row["refusal_acc"] is None
    assert row["grounding_violations"] == 0
    assert row["failed"] is True  # a fact is missing


def test_score_refusals():
    refused = {"ranked": ["G1"], "answer": "Nghị quyết không quy định nội dung này.", "answered": False,
               "cited": []}
    row = m.score_question(QUESTION, refused)
    assert row["false_refusal"] == 1.0 and row["citation_hit"] is None and row["all_facts"] == 0.0
    assert row["failed"] is True
    row = m.score_question(UNANSWERABLE, refused)
    assert row["refusal_acc"] == 1.0 and row["recall@1"] is None and row["all_facts"] is None
    assert row["failed"] is False
    row = m.score_question(UNANSWERABLE, {**refused, "answered": True, "answer": "GRDP 2025 tăng 9%"})
    assert row["refusal_acc"] == 0.0 and row["failed"] is True


def test_summarise_averages_only_where_a_metric_applies():
    rows = [
        m.score_question(QUESTION, {"ranked": ["G1"], "answer": "7,5-8% trên 8%", "answered": True,
                                    "cited": ["G1", "OK", "X"], "latency_ms": 10}),
        m.score_question(QUESTION, {"ranked": ["X"], "answer": "", "answered": True, "cited": ["X"],
                                    "latency_ms": 30}),
        m.score_question(UNANSWERABLE, {"ranked": [], "answer": "", "answered": False, "cited": [],
                                        "latency_ms": 20}),
    ]
    s = m.summarise(rows)
    assert s["recall@1"] == 0.5 and s["n_recall@1"] == 2
    assert s["all_facts"] == 0.5
    assert s["citation_hit"] == 0.5
    assert s["citation_precision"] == pytest.approx(2 / 4)  # micro: 2 acceptable of 4 cited
    assert s["refusal_acc"] == 1.0 and s["false_refusal"] == 0.0
    assert s["p50_ms"] == 20
    agg = m.aggregate(rows)
    assert set(agg["per_kind"]) == {"target", "unanswerable"}
    assert agg["per_kind"]["unanswerable"]["recall@1"] is None


def test_percentile_interpolates():
    assert m.percentile([4, 1, 3, 2], 50) == 2.5
    assert m.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert m.percentile([None], 50) is None


# -- bounds ----------------------------------------------------------------
def test_parse_bound():
    assert m.parse_bound("all_facts=0.9") == ("all_facts", 0.9)
    assert m.parse_bound("mrr=0.5") == ("mrr@10", 0.5)
    for bad in ("all_facts", "nonsense=1", "all_facts=high"):
        with pytest.raises(ValueError):
            m.parse_bound(bad)


def test_check_bounds():
    values = {"all_facts": 0.85, "citation_hit": 0.97, "false_refusal": 0.08, "recall@1": None}
    assert m.check_bounds(values, {"citation_hit": 0.95}, {"false_refusal": 0.1}) == []
    broken = m.check_bounds(values, {"all_facts": 0.9, "recall@1": 0.1}, {"false_refusal": 0.05})
    assert len(broken) == 3 and broken[0].startswith("all_facts")


# -- naive baseline's chunk -> clause mapping ---------------------------------
def test_clause_spans_are_whitespace_insensitive():
    document = "Điều 1.\n\nMột hai\nba.\n\n2. Bốn năm."
    spans = clause_spans(document, [{"clause_id": "K1", "text": "Một hai ba."},
                                    {"clause_id": "K2", "text": "Bốn năm."}, {"clause_id": "X", "text": "sáu"}])
    assert [(c, document[s:e]) for c, s, e in spans] == [("K1", "Một hai\nba."), ("K2", "Bốn năm.")]
    assert normalised_with_map(" a \n b ") == ("a b", [1, 2, 5])


def test_chunk_clauses_by_overlap_share():
    spans = [("A", 0, 40), ("B", 40, 100), ("C", 100, 130)]
    assert chunk_clauses(0, 100, spans) == ["B", "A"]  # A covers 40 >= half of B's 60
    assert chunk_clauses(30, 100, spans) == ["B", "C"]  # B 60, C 30, A only 10
    assert chunk_clauses(200, 50, spans) == []


# -- the real thing, on a few questions ---------------------------------------
@pytest.fixture(scope="session")
def eval_assistant(tmp_path_factory):
    from core.config import Settings
    from assistant.compose import make_assistant

    root = tmp_path_factory.mktemp("eval-index")
    settings = Settings(index_dir=root / "index", log_file=root / "questions.log")
    return make_assistant(settings, build=True)


@pytest.fixture(scope="session")
def sample_questions():
    from eval.runner import load_questions

    questions = load_questions()
    by_kind: dict[str, list] = {}
    for q in questions:
        by_kind.setdefault(q["kind"], []).append(q)
    picked = [qs[0] for qs in by_kind.values()] + [by_kind["compare"][1], by_kind["unanswerable"][1]]
    return picked


@pytest.mark.parametrize("name, at_least", [("questions.jsonl", 200), ("holdout.jsonl", 60)])
def test_eval_set_is_well_formed(name, at_least):
    from eval.runner import DEFAULT_QUESTIONS, load_questions

    questions = load_questions(DEFAULT_QUESTIONS.parent / name)
    assert len(questions) >= at_least
    kinds = {"target", "result_2023", "task", "which_clause", "compare", "meta", "followup", "unanswerable"}
    assert {q["kind"] for q in questions} == kinds  # every kind the seed sets were written for is asked
    for q in questions:
        assert q["answerable"] == (q["kind"] != "unanswerable")
        assert all(unicodedata.is_normalized("NFC", f) for f in q["facts"])


def test_load_questions_rejects_bad_lines(tmp_path):
    from eval.runner import load_questions

    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "?", "kind": "target", "gold": [], "facts": [], "answerable": true}\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match="without gold"):
        load_questions(path)
    path.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="missing"):
        load_questions(path)


def test_run_eval_writes_report_and_plots(eval_assistant, sample_questions, tmp_path):
    from eval.report import headline_table, write_outputs
    from eval.runner import run_eval

    calls = []
    metrics = run_eval(eval_assistant, sample_questions, progress=lambda d, t: calls.append((d, t)))
    total = len(sample_questions) * 4
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert set(metrics["headline"]) == {"system", "bm25_only", "dense_only", "naive_rag"}
    for name, values in metrics["headline"].items():
        for key in m.RETRIEVAL_KEYS + ("all_facts", "fact_coverage", "citation_hit", "citation_precision",
                                       "refusal_acc", "false_refusal"):
            value = values[key]
            assert value is None or 0.0 <= value <= 1.0, (name, key, value)
    assert metrics["headline"]["system"]["recall@5"] is not None
    assert metrics["headline"]["bm25_only"]["refusal_acc"] == 0.0  # baselines never refuse
    assert len(metrics["results"]["system"]) == len(sample_questions)

    paths = write_outputs(metrics, tmp_path / "out")
    for key in ("metrics", "report", "per_kind", "systems", "latency"):
        assert paths[key].is_file() and paths[key].stat().st_size > 0, key
    for key in ("per_kind", "systems", "latency"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["metrics"].read_text(encoding="utf-8"))["meta"]["questions"] == len(sample_questions)
    report = paths["report"].read_text(encoding="utf-8")
    assert "## Headline" in report and "naive LangChain RAG" in report
    assert headline_table(metrics) in report

    # The app's page draws the same plots in Vietnamese: titles, axes and legends, decimal commas.
    from matplotlib.axes import Axes

    from eval.report import write_plots

    titles: list[str] = []
    original = Axes.set_title
    Axes.set_title = lambda self, label, *a, **k: (titles.append(label), original(self, label, *a, **k))[1]
    try:
        names = write_plots(metrics, tmp_path, lang="vi")
    finally:
        Axes.set_title = original
    assert set(names) == {"per_kind", "systems", "latency"}
    assert titles == ["Các chỉ số theo loại câu hỏi", "Trợ lý so với các phương án cơ sở", "Thời gian trả lời"]


def test_cli_bounds_set_the_exit_code(eval_assistant, monkeypatch, tmp_path, capsys):
    from eval.__main__ import main

    monkeypatch.setenv("TLNQ_INDEX_DIR", str(eval_assistant.settings.index_dir))
    monkeypatch.setenv("TLNQ_LOG_FILE", str(tmp_path / "q.log"))
    monkeypatch.setenv("TLNQ_EMBEDDING_MODEL", eval_assistant.index.embedding_model)
    common = ["--limit", "3", "--no-baselines", "-q", "--out", str(tmp_path / "out")]
    assert main(common + ["--min", "recall@5=0", "--max", "false_refusal=1"]) == 0
    assert main(common + ["--min", "all_facts=1.01"]) == 1
    assert "FAIL all_facts" in capsys.readouterr().err
    assert main(common + ["--max", "p50_ms=0"]) == 1
    with pytest.raises(SystemExit) as exc:
        main(common + ["--min", "nonsense=1"])
    assert exc.value.code == 2
