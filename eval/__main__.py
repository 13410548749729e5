"""python -m eval: score the assistant (and the baselines) on the eval set, write the report.

Exit status: 0 ok, 1 a --min/--max bound broken, 2 bad arguments or no index.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from eval.metrics import check_bounds, parse_bound

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from eval.runner import DEFAULT_QUESTIONS

    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.splitlines()[0].partition(": ")[2])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="eval set (JSON lines)")
    parser.add_argument("--backend", help="answerer to evaluate (default: the configured one)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report folder (default: eval/out)")
    parser.add_argument("--min", action="append", default=[], metavar="KEY=VALUE", type=_bound,
                        help="fail (exit 1) when the assistant's metric is below VALUE, e.g. all_facts=0.9")
    parser.add_argument("--max", action="append", default=[], metavar="KEY=VALUE", type=_bound,
                        help="fail (exit 1) when the assistant's metric is above VALUE, e.g. false_refusal=0.05")
    parser.add_argument("--no-baselines", action="store_true", help="score the assistant only")
    parser.add_argument("--limit", type=int, help="only the first N questions (quick runs)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="N questions spread evenly over the set (for slow backends)")
    parser.add_argument("--kind", action="append", help="only questions of this kind (repeatable)")
    parser.add_argument("--doc", help="restrict retrieval to one indexed document key")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return parser.parse_args(argv)


def _bound(text: str) -> tuple[str, float]:
    try:
        return parse_bound(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from core.config import Settings
    from eval.report import headline_table, write_outputs
    from eval.runner import load_questions, run_eval
    from assistant.compose import make_assistant, make_embedder
    from core.errors import ProductError

    questions = load_questions(args.questions)
    if args.kind:
        questions = [q for q in questions if q["kind"] in set(args.kind)]
    if args.sample and args.sample < len(questions):
        step = len(questions) / args.sample
        questions = [questions[int(i * step)] for i in range(args.sample)]
    if args.limit:
        questions = questions[: args.limit]
    if not questions:
        print("no questions to run", file=sys.stderr)
        return 2

    settings = Settings(answerer=args.backend) if args.backend else Settings()

    try:
        started = time.perf_counter()
        make_embedder(settings)  # loaded once per process: make_assistant reuses it
        model_load = time.perf_counter() - started
        started = time.perf_counter()
        assistant = make_assistant(settings, build=True)
        assistant_load = time.perf_counter() - started
    except (ProductError, ValueError) as exc:
        print(f"cannot load the assistant: {exc}", file=sys.stderr)
        return 2

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\r{done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    metrics = run_eval(assistant, questions, progress=progress, baselines=not args.no_baselines, doc=args.doc,
                       load_times={"model_load_s": model_load, "assistant_load_s": assistant_load})
    paths = write_outputs(metrics, args.out)
    print(headline_table(metrics))
    print(f"\nreport: {paths['report']}")
    broken = check_bounds(metrics["headline"]["system"], dict(args.min), dict(args.max))
    for message in broken:
        print(f"FAIL {message}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
