"""CLI: python -m index build [FILES…] | tree [FILE] [--json] | show CLAUSE_ID."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.errors import IndexingError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m index", description="Chỉ mục điều khoản nghị quyết")
    sub = parser.add_subparsers(dest="command", required=True)
    p_build = sub.add_parser("build", help="build or refresh the index")
    p_build.add_argument("files", nargs="*", type=Path)
    p_build.add_argument("--force", action="store_true", help="re-embed even when nothing changed")
    p_tree = sub.add_parser("tree", help="print the clause tree")
    p_tree.add_argument("file", nargs="?", type=Path)
    p_tree.add_argument("--json", action="store_true")
    p_tree.add_argument("--report", action="store_true", help="counts per level, warnings, longest clause, words lost")
    p_show = sub.add_parser("show", help="print one clause")
    p_show.add_argument("clause_id")
    p_show.add_argument("--doc", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return {"build": _build, "tree": _tree, "show": _show}[args.command](args)
    except IndexingError as exc:  # the Vietnamese message for people, the English detail for a bug report
        print(f"error: {exc.user_message} ({exc})", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _build(args) -> int:
    from core.config import get_settings
    from index.build import build_for, parse_documents
    from index.embed import choose_model

    settings = get_settings()
    files = args.files or list(settings.documents)
    _, failed = parse_documents(files)  # refuse bad input before loading any model (raises if none loads)
    for f in failed:
        print(f"warning: bỏ qua {f.source.name}: {f.user_message} ({f.message})", file=sys.stderr)
    model_name, warning = choose_model(settings)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)

    def progress(stage: str, done: int, total: int) -> None:
        print(f"\r{stage}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    report = build_for(settings, files, model_name=model_name, progress=progress, force=args.force)
    state = "up to date" if report.up_to_date else "built"
    print(f"{state}: {report.generation} — {report.documents} document(s), {report.clauses} clauses, "
          f"{report.chunks} chunks ({report.embedded} embedded, {report.reused} reused) "
          f"with {report.embedding_model} in {report.seconds:.1f}s")
    return 0


def _load_tree(file: Path | None) -> list[dict]:
    from core.config import get_settings
    from index.load import load_document
    from index.parse import parse_clauses
    from index.store import CLAUSES_FILE, current_generation, read_jsonl

    if file is not None:
        return [c.to_dict() for c in parse_clauses(load_document(file))]
    settings = get_settings()
    generation = current_generation(settings.index_dir)
    if generation is None:  # no index yet: parse the bundled resolution directly
        return [c.to_dict() for c in parse_clauses(load_document(settings.documents[0]))]
    return read_jsonl(Path(settings.index_dir) / generation / CLAUSES_FILE)


def _tree(args) -> int:
    if args.report:
        return _report(args.file)
    clauses = _load_tree(args.file)
    if args.json:
        rows = [{k: c[k] for k in ("clause_id", "label", "title", "text")} for c in clauses]
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    for c in clauses:
        depth = c["clause_id"].count("/")
        head = c["title"] or c["text"].split("\n")[0]
        print(f"{'  ' * depth}{c['clause_id']:<22} {c['label']}: {head[:70]}")
    return 0


def _report(file: Path | None) -> int:
    from core.config import get_settings
    from index.load import load_document
    from index.meta import describe
    from index.parse import parse_document
    from index.report import make_report

    file = file or get_settings().documents[0]
    text = load_document(file)
    result = parse_document(text)
    info = describe(text, result.clauses, fallback=Path(file).stem)
    print(f"{Path(file).name}: {info.display}")
    for line in make_report(text, result).lines():
        print(line)
    return 0


def _show(args) -> int:
    clauses = _load_tree(None)
    found = [c for c in clauses if c["clause_id"] == args.clause_id and (args.doc in (None, c.get("doc")))]
    if not found:
        print(f"error: no clause {args.clause_id!r}", file=sys.stderr)
        return 2
    c = found[0]
    print(f"{c['label']}" + (f" — {c['title']}" if c["title"] else ""))
    print(c["text"])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `… | head` closed the pipe
        sys.exit(0)
