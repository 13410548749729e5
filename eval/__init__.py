"""The eval set (``questions.jsonl``), its runner, reports and benchmark.

    python -m eval [--questions FILE] [--backend NAME] [--out DIR] [--min KEY=VALUE] [--max KEY=VALUE]
    python -m eval.bench

Nothing heavy is imported here: ``from eval.runner import run_eval`` loads what it needs.
"""
