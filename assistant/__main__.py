"""CLI: python -m assistant ask "câu hỏi" [--json] | ask --batch FILE [--out FILE]."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.errors import ProductError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant", description="Trợ lý Nghị quyết")
    sub = parser.add_subparsers(dest="command", required=True)
    ask = sub.add_parser("ask", help="hỏi một câu (hoặc --batch tệp JSONL)")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--json", action="store_true", help="in một đối tượng Answer dạng JSON")
    ask.add_argument("--batch", type=Path, help="JSON lines with id, question[, history]")
    ask.add_argument("--out", type=Path, help="where --batch writes (default: stdout)")
    ask.add_argument("--doc", default=None, help="chỉ tìm trong văn bản này (document key)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        from assistant.compose import make_assistant

        if args.batch is None and args.question is None:
            parser.error("cần một câu hỏi hoặc --batch FILE")
        assistant = make_assistant()
        for warning in assistant.warnings:
            print(f"cảnh báo: {warning}", file=sys.stderr)
        if args.batch is not None:
            return _batch(assistant, args)
        answer = assistant.ask(args.question, doc=args.doc)
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        else:
            print(answer.answer)
            if answer.citations:
                print("\nTrích dẫn: " + "; ".join(c.label for c in answer.citations))
        return 0
    except ProductError as exc:
        logging.getLogger("assistant").info("%s", exc)
        print(f"Lỗi: {exc.user_message}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # a bad setting (unknown embedding model…) or an unreadable file
        logging.getLogger("assistant").info("%r", exc)
        print(f"Lỗi: không khởi động được trợ lý ({exc}). Hãy kiểm tra cấu hình TLNQ_*.", file=sys.stderr)
        return 2


def _batch(assistant, args) -> int:
    """Answer a JSON-lines file; each answer is written (and flushed) as it comes, so an aborted run
    keeps what it had; a second run with the same --out answers only what is missing there."""
    if not args.batch.is_file():
        print(f"Lỗi: không tìm thấy tệp {args.batch}", file=sys.stderr)
        return 2
    if args.out is not None and args.out.exists() and args.out.resolve() == args.batch.resolve():
        print("Lỗi: --out trùng với tệp câu hỏi; hãy chọn tệp khác để không ghi đè câu hỏi.", file=sys.stderr)
        return 2
    try:
        # utf-8-sig: a BOM is not part of the first question; split on "\n" only, so U+2028
        # inside a question does not cut its line in two.
        lines = args.batch.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError:
        print(f"Lỗi: tệp {args.batch} không phải UTF-8", file=sys.stderr)
        return 2
    done = _answered_ids(args.out) if args.out else set()
    if done:
        print(f"tiếp tục: {len(done)} câu đã trả lời trong {args.out} được giữ nguyên", file=sys.stderr)
    out = open(args.out, "a" if done else "w", encoding="utf-8") if args.out else sys.stdout
    limit = assistant.settings.max_batch_line_chars
    failures = 0
    try:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            row = _batch_row(assistant, args, n, line, limit, done)
            if row is None:
                continue
            failures += "error" in row
            # U+2028/U+2029 escaped: a reader that splits lines on them still sees one row per line
            text = json.dumps(row, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
            out.write(text + "\n")
            out.flush()
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if failures else 0


def _batch_row(assistant, args, n: int, line: str, limit: int, done: set) -> dict | None:
    """One answer row, or an error row that names the line; None when --out already holds it."""

    item = None
    try:
        if len(line) > limit:
            raise ValueError(f"dòng dài {len(line)} ký tự, quá giới hạn {limit}")
        item = json.loads(line)
        if not isinstance(item, dict):
            raise TypeError("mỗi dòng phải là một đối tượng JSON")
        if str(item.get("id", n)) in done:
            return None
        history = item.get("history") or None
        if history is not None and not isinstance(history, list):
            raise TypeError("history phải là danh sách các lượt hội thoại")
        answer = assistant.ask(item["question"], history, doc=args.doc)
        return {"id": item.get("id", n)} | answer.to_dict()
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        row_id = item.get("id", n) if isinstance(item, dict) else n  # keep the line's own id when it has one
        return {"id": row_id, "error": f"dòng {n} không hợp lệ: {exc}"}
    except ProductError as exc:
        return {"id": item.get("id", n), "error": exc.user_message}
    except Exception as exc:  # a dead store or model: this line fails, the batch goes on
        logging.getLogger("assistant").warning("batch line %d failed: %r", n, exc)
        return {"id": item.get("id", n) if isinstance(item, dict) else n,
                "error": "Không trả lời được câu này lúc này (lỗi hệ thống); hãy chạy lại sau."}


def _answered_ids(path: Path) -> set[str]:
    """Ids already answered (without error) in an earlier run's output."""
    if not path.is_file():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and "error" not in row and "id" in row:
            ids.add(str(row["id"]))
    return ids


if __name__ == "__main__":
    sys.exit(main())
