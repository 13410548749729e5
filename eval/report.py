"""metrics.json, report.md and PNG plots from a ``run_eval`` result."""
from __future__ import annotations

import json
from pathlib import Path

SYSTEM_NAMES = {"system": "assistant", "bm25_only": "BM25 only", "dense_only": "dense only",
                "naive_rag": "naive LangChain RAG"}
HEADLINE_COLUMNS = (("recall@1", "R@1"), ("recall@5", "R@5"), ("mrr@10", "MRR@10"), ("all_facts", "all facts"),
                    ("fact_figures", "fact figures"), ("citation_hit", "cit. hit"), ("citation_precision", "cit. prec."),
                    ("refusal_acc", "refusal acc"), ("false_refusal", "false refusal"))
KIND_COLUMNS = (("questions", "n"), ("recall@1", "R@1"), ("recall@5", "R@5"), ("mrr@10", "MRR"),
                ("all_gold@5", "all gold@5"), ("all_facts", "all facts"), ("fact_coverage", "fact cov."),
                ("facts_in_top5", "facts in top 5"), ("citation_hit", "cit. hit"),
                ("citation_precision", "cit. prec."), ("refusal_acc", "refusal acc"),
                ("false_refusal", "false refusal"), ("grounding_violations", "ungrounded"), ("failed", "failed"))


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.0f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def headline_table(metrics: dict) -> str:
    """System vs baselines on the headline metrics (markdown; also printed by the CLI)."""
    rows = []
    for name, values in metrics["headline"].items():
        cells = [SYSTEM_NAMES.get(name, name)] + [fmt(values.get(key)) for key, _ in HEADLINE_COLUMNS]
        rows.append(cells + [fmt(values.get("p50_ms"))])
    return _table(["system"] + [label for _, label in HEADLINE_COLUMNS] + ["p50 ms"], rows)


def kind_table(per_kind: dict, overall: dict) -> str:
    rows = [[kind] + [fmt(s.get(key)) for key, _ in KIND_COLUMNS] for kind, s in per_kind.items()]
    rows.append(["**all**"] + [fmt(overall.get(key)) for key, _ in KIND_COLUMNS])
    return _table(["kind"] + [label for _, label in KIND_COLUMNS], rows)


def comparison_by_kind(metrics: dict, key: str) -> str:
    names = list(metrics["systems"])
    kinds = sorted({k for m in metrics["systems"].values() for k in m["per_kind"]})
    rows = [[kind] + [fmt(metrics["systems"][n]["per_kind"].get(kind, {}).get(key)) for n in names] for kind in kinds]
    return _table(["kind"] + [SYSTEM_NAMES.get(n, n) for n in names], rows)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_lines(row: dict) -> list[str]:
    expected = f"gold {', '.join(row['gold']) or '–'}"
    if row["also_ok"]:
        expected += f" (also ok: {', '.join(row['also_ok'])})"
    if row["facts"]:
        expected += "; facts: " + "; ".join(f"`{f}`" for f in row["facts"])
    if not row["expected_answerable"]:
        expected = "refusal"
    got = "refused" if not row["answered"] else "answered"
    if row.get("error"):
        got = f"error: {row['error']}"
    lines = [f"- **{row['id']}** {_short(row['question'], 200)}",
             f"  - expected: {expected}",
             f"  - got ({got}): {_short(row['answer'])}" if row["answer"] else f"  - got: {got}",
             f"  - cited: {', '.join(row['cited']) or '–'}; retrieved top 3: {', '.join(row['ranked'][:3]) or '–'}"
             + (f"; first acceptable at rank {row['rank']}" if row.get("rank") else "")]
    if row.get("facts_found") and not all(row["facts_found"]):
        missing = [f for f, ok in zip(row["facts"], row["facts_found"]) if not ok]
        lines.append("  - missing facts: " + "; ".join(f"`{f}`" for f in missing))
    if row.get("ungrounded"):
        lines.append("  - numbers in no cited clause: " + ", ".join(row["ungrounded"]))
    return lines


def render_markdown(metrics: dict, plots: dict[str, str] | None = None) -> str:
    meta, system = metrics["meta"], metrics["systems"]["system"]
    overall = system["overall"]
    load = metrics.get("load") or {}
    out = [
        "# Evaluation report",
        "",
        f"{meta['questions']} questions; embedding model `{meta['embedding_model']}`; answerer `{meta['answerer']}`"
        f" (used: {', '.join(f'{k} ×{v}' for k, v in meta['backends_used'].items())});"
        f" index `{meta['index_generation']}`;"
        f" {meta['created']}; {meta['seconds']} s.",
        "",
        "Settings: " + ", ".join(f"{k} {v}" for k, v in meta.get("settings", {}).items()) + ".",
        "",
        "## Headline",
        "",
        headline_table(metrics),
        "",
        "Retrieval (R@k, MRR@10) is over answerable questions; a hit is any retrieved clause in gold ∪ also_ok."
        " *all facts*: every expected fact string occurs in the answer (NFC, whitespace folded, case kept);"
        " *fact figures*: every number in the expected facts occurs in the answer, however worded (over"
        " questions whose facts hold figures)."
        " *cit. hit*: at least one cited clause is acceptable, over answerable questions that were answered;"
        " *cit. prec.*: acceptable cited ids / all cited ids. *refusal acc*: unanswerable questions refused;"
        " *false refusal*: answerable questions refused. Baselines never refuse.",
        "",
        "Baselines: *BM25 only* and *dense only* are the assistant's retriever with the other signal's weight at 0,"
        " queried with the same analysed search text (history and abbreviations resolved); their answer is the"
        " top clause's full text and their citation its id. *naive LangChain RAG* cuts the cleaned document into"
        f" 1000-character chunks (200 overlap, {meta.get('naive_chunks') or '?'} chunks), embeds them with the same"
        " model into a temporary Chroma collection and searches the raw question (no history) for the top 5; its"
        " answer is the top chunk. A chunk is mapped to clauses by character overlap: clause texts are located in"
        " the document (whitespace-insensitive) and a chunk stands for every clause covering at least half as"
        " many of its characters as the clause covering most, most overlapping first; the top chunk's clauses are"
        " its citations and the chunks' clauses, in order and de-duplicated, its ranking.",
        "",
        "## Latency",
        "",
        f"- assistant per question: p50 {fmt(overall['p50_ms'])} ms, p95 {fmt(overall['p95_ms'])} ms"
        f" (retrieval p50 {fmt(overall['retrieve_p50_ms'])} ms, p95 {fmt(overall['retrieve_p95_ms'])} ms);"
        " wall-clock on this machine, shared with other work",
    ]
    if overall.get("first_token_p50_ms") is not None and meta.get("answerer") != "extractive":
        out.append(f"- first token: p50 {fmt(overall['first_token_p50_ms'])} ms,"
                   f" p95 {fmt(overall['first_token_p95_ms'])} ms; answers by backend: {meta.get('backends_used')}")
    for key, label in (("model_load_s", "embedding model load"),
                       ("assistant_load_s", "assistant load (index open/build)")):
        if key in load:
            out.append(f"- {label}: {load[key]:.2f} s")
    out += ["", "## Assistant by kind", "", kind_table(system["per_kind"], system["overall"]), "",
            f"Grounding: {fmt(system['overall']['grounding_removed'])} sentences removed by the guard;"
            f" {fmt(system['overall']['grounding_violations'])} answers state a number found in no cited clause"
            " (independent check: numbers outside citation labels vs cited clause text and its headings).",
            ""]
    if len(metrics["systems"]) > 1:
        out += ["## Baselines by kind", "", "Recall@5:", "", comparison_by_kind(metrics, "recall@5"), "",
                "All facts in the answer:", "", comparison_by_kind(metrics, "all_facts"), "",
                "All facts in the top 5 contexts:", "", comparison_by_kind(metrics, "facts_in_top5"), ""]
    if plots:
        out += ["## Plots", ""] + [f"![{name}]({path})" for name, path in plots.items()] + [""]
    failed = [r for r in metrics["results"]["system"] if r["failed"]]
    out += [f"## Failed questions ({len(failed)})", ""]
    for kind in sorted({r["kind"] for r in failed}):
        rows = [r for r in failed if r["kind"] == kind]
        out += [f"### {kind} ({len(rows)})", ""]
        for row in rows:
            out += failure_lines(row)
        out.append("")
    return "\n".join(out)


# The plots' words, for the engineers' report (en) and for the officials' page in the app (vi).
PLOT_TEXT = {
    "en": {"per_kind": "Assistant metrics per question kind", "systems": "Assistant vs baselines",
           "latency": "Assistant latency", "ms": "ms per question", "questions": "questions",
           "total": "total", "retrieval": "retrieval",
           "metrics": {"recall@5": "R@5", "all_facts": "all facts", "citation_hit": "citation hit",
                       "refusal_acc": "refusal acc", "false_refusal": "false refusal"},
           "columns": dict(HEADLINE_COLUMNS), "systems_names": SYSTEM_NAMES, "kinds": {}},
    "vi": {"per_kind": "Các chỉ số theo loại câu hỏi", "systems": "Trợ lý so với các phương án cơ sở",
           "latency": "Thời gian trả lời", "ms": "mili giây mỗi câu hỏi", "questions": "số câu hỏi",
           "total": "cả câu trả lời", "retrieval": "tìm điều khoản",
           "metrics": {"recall@5": "đúng điều khoản trong top 5", "all_facts": "đủ dữ kiện",
                       "citation_hit": "trích dẫn đúng", "refusal_acc": "từ chối đúng",
                       "false_refusal": "từ chối nhầm"},
           "columns": {"recall@1": "R@1", "recall@5": "R@5", "mrr@10": "MRR@10", "all_facts": "đủ dữ kiện",
                       "fact_figures": "đủ số liệu", "citation_hit": "trích dẫn đúng",
                       "citation_precision": "độ chính xác trích dẫn", "refusal_acc": "từ chối đúng",
                       "false_refusal": "từ chối nhầm"},
           "systems_names": {"system": "Trợ lý", "bm25_only": "Chỉ BM25", "dense_only": "Chỉ vector",
                             "naive_rag": "RAG đơn giản (LangChain)"},
           "kinds": {"target": "chỉ tiêu năm kế hoạch", "result_2023": "kết quả năm trước", "task": "nhiệm vụ",
                     "which_clause": "điều khoản nào", "compare": "so sánh", "meta": "thông tin văn bản",
                     "followup": "hỏi tiếp", "unanswerable": "ngoài nghị quyết"}},
}


def decimal_comma(value: float, _pos=None) -> str:
    """An axis tick the Vietnamese way.

    >>> decimal_comma(0.25), decimal_comma(1.0), decimal_comma(1500.0)
    ('0,25', '1', '1500')
    """
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def write_plots(metrics: dict, out_dir: Path, *, lang: str = "en") -> dict[str, str]:
    """Per-kind metrics, the system against its baselines, the latency histogram, as PNG files in
    ``out_dir``; ``lang="vi"`` writes every title, axis and legend in Vietnamese with decimal commas."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    words = PLOT_TEXT[lang]
    ticks = FuncFormatter(decimal_comma) if lang == "vi" else None

    def finish(ax) -> None:
        if ticks is not None:
            ax.yaxis.set_major_formatter(ticks)

    paths: dict[str, str] = {}
    system = metrics["systems"]["system"]

    kinds = list(system["per_kind"])
    keys = list(words["metrics"].items())
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(keys)
    for i, (key, label) in enumerate(keys):
        values = [system["per_kind"][k].get(key) for k in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], [v or 0 for v in values], width, label=label)
    ax.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(kinds))],
                  [words["kinds"].get(k, k) for k in kinds], rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_title(words["per_kind"])
    ax.legend(ncol=len(keys), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    finish(ax)
    fig.tight_layout()
    paths["per_kind"] = _save(fig, out_dir / "per_kind.png", plt)

    names = list(metrics["headline"])
    keys = [k for k, _ in HEADLINE_COLUMNS if k != "false_refusal"]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [metrics["headline"][name].get(key) for key in keys]
        ax.bar([x + i * width for x in range(len(keys))], [v or 0 for v in values], width,
               label=words["systems_names"].get(name, name))
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(keys))],
                  [words["columns"].get(k, k) for k in keys], rotation=15 if lang == "vi" else 0)
    ax.set_ylim(0, 1.05)
    ax.set_title(words["systems"])
    ax.legend(fontsize=8)
    finish(ax)
    fig.tight_layout()
    paths["systems"] = _save(fig, out_dir / "systems.png", plt)

    rows = metrics["results"]["system"]
    total = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    retrieve = [r["retrieve_ms"] for r in rows if r.get("retrieve_ms") is not None]
    fig, ax = plt.subplots(figsize=(8, 4))
    if total:
        ax.hist([total, retrieve], bins=30, label=[words["total"], words["retrieval"]])
        ax.legend()
    ax.set_xlabel(words["ms"])
    ax.set_ylabel(words["questions"])
    ax.set_title(words["latency"])
    if ticks is not None:
        ax.xaxis.set_major_formatter(ticks)
    fig.tight_layout()
    paths["latency"] = _save(fig, out_dir / "latency.png", plt)
    return paths


def _save(fig, path: Path, plt) -> str:
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path.name


def write_outputs(metrics: dict, out_dir: Path) -> dict[str, Path]:
    """metrics.json, report.md and the plots in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1, default=str),
                                          encoding="utf-8")
    plots = write_plots(metrics, out_dir)
    (out_dir / "report.md").write_text(render_markdown(metrics, plots), encoding="utf-8")
    return {"metrics": out_dir / "metrics.json", "report": out_dir / "report.md",
            **{name: out_dir / p for name, p in plots.items()}}
