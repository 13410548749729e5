"""CLI: python -m assistant ask "câu hỏi" [--json] | ask --batch FILE [--out FILE]."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from index.errors import IndexingError


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
        from assistant.service import Assistant

        if args.batch is None and args.question is None:
            parser.error("cần một câu hỏi hoặc --batch FILE")
        assistant = Assistant.load()
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
    except IndexingError as exc:
        logging.getLogger("assistant").info("%s", exc)
        print(f"Lỗi: {exc.user_message}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # a bad setting (unknown embedding model…) or an unreadable file
        logging.getLogger("assistant").info("%r", exc)
        print(f"Lỗi: không khởi động được trợ lý ({exc}). Hãy kiểm tra cấu hình TLNQ_*.", file=sys.stderr)
        return 2


def _batch(assistant, args) -> int:
    if not args.batch.is_file():
        print(f"Lỗi: không tìm thấy tệp {args.batch}", file=sys.stderr)
        return 2
    try:
        lines = args.batch.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        print(f"Lỗi: tệp {args.batch} không phải UTF-8", file=sys.stderr)
        return 2
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    failures = 0
    try:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            item = None
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise TypeError("mỗi dòng phải là một đối tượng JSON")
                history = item.get("history") or None
                if history is not None and not isinstance(history, list):
                    raise TypeError("history phải là danh sách các lượt hội thoại")
                answer = assistant.ask(item["question"], history, doc=args.doc)
                row = {"id": item.get("id", n)} | answer.to_dict()
            except (ValueError, KeyError, TypeError) as exc:
                failures += 1
                row_id = item.get("id", n) if isinstance(item, dict) else n  # keep the line's own id when it has one
                row = {"id": row_id, "error": f"dòng {n} không hợp lệ: {exc}"}
            except IndexingError as exc:
                failures += 1
                row = {"id": item.get("id", n), "error": exc.user_message}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
