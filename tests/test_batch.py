"""`python -m assistant ask --batch`: BOM, U+2028, --out that is the input, answers written as they
come and resumed, one failing line never stops the rest; history trimmed before it costs anything.
Runs on a fake assistant: the CLI's own logic, no model."""
from __future__ import annotations

import json
from argparse import Namespace
from types import SimpleNamespace

import pytest

from assistant.__main__ import _batch
from assistant.query import trim_history
from assistant.types import Answer


class FakeAssistant:
    def __init__(self, fail_on: str | None = None, explode_after: int | None = None):
        self.settings = SimpleNamespace(max_batch_line_chars=10_000)
        self.asked: list[str] = []
        self.fail_on, self.explode_after = fail_on, explode_after

    def ask(self, question, history=None, doc=None):
        if self.explode_after is not None and len(self.asked) >= self.explode_after:
            raise KeyboardInterrupt  # the run is killed mid-way
        self.asked.append(question)
        if self.fail_on and self.fail_on in question:
            raise ConnectionError("chroma server down")
        return Answer(answer=f"trả lời: {question}", answerable=True)


def _args(batch, out=None):
    return Namespace(batch=batch, out=out, doc=None)


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path, items, bom=False):
    text = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def test_bom_and_line_separator_inside_a_question_lose_nothing(tmp_path):
    batch, out = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    _write(batch, [{"id": "a", "question": "Chỉ tiêu GRDP?"}, {"id": "b", "question": "Dòng một\u2028dòng hai?"}], bom=True)
    fake = FakeAssistant()
    assert _batch(fake, _args(batch, out)) == 0
    assert [r["id"] for r in _rows(out)] == ["a", "b"]
    assert fake.asked == ["Chỉ tiêu GRDP?", "Dòng một\u2028dòng hai?"]


def test_out_pointing_at_the_input_is_refused_and_the_questions_survive(tmp_path, capsys):
    batch = tmp_path / "q.jsonl"
    _write(batch, [{"id": "a", "question": "x?"}])
    before = batch.read_bytes()
    assert _batch(FakeAssistant(), _args(batch, batch)) == 2
    assert batch.read_bytes() == before
    assert "trùng với tệp câu hỏi" in capsys.readouterr().err


def test_an_aborted_batch_keeps_its_answers_and_a_rerun_finishes_it(tmp_path):
    batch, out = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    _write(batch, [{"id": i, "question": f"câu {i}?"} for i in range(5)])
    with pytest.raises(KeyboardInterrupt):
        _batch(FakeAssistant(explode_after=3), _args(batch, out))
    assert [r["id"] for r in _rows(out)] == [0, 1, 2]  # flushed as they came
    again = FakeAssistant()
    assert _batch(again, _args(batch, out)) == 0
    assert again.asked == ["câu 3?", "câu 4?"]
    assert [r["id"] for r in _rows(out)] == [0, 1, 2, 3, 4]


def test_a_failing_line_is_reported_and_the_batch_goes_on(tmp_path):
    batch, out = tmp_path / "q.jsonl", tmp_path / "a.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    _write(batch, [{"id": 1, "question": "một?"}, {"id": 2, "question": "máy chủ hỏng?"}])
    with open(batch, "a", encoding="utf-8") as fh:
        fh.write(deep + "\n" + json.dumps({"id": 4, "question": "bốn?"}) + "\n")
    assert _batch(FakeAssistant(fail_on="hỏng"), _args(batch, out)) == 1
    rows = _rows(out)
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert "answer" in rows[0] and "answer" in rows[3]
    assert "lỗi hệ thống" in rows[1]["error"] and "chroma" not in rows[1]["error"]
    assert "dòng 3" in rows[2]["error"]


def test_history_is_trimmed_to_the_last_turns():
    history = [{"role": "user", "content": "x" * 1_000_000}] * 500
    kept = trim_history(history, 6, 2000)
    assert len(kept) == 6 and all(len(t["content"]) == 2000 for t in kept)
    assert trim_history(None, 6, 2000) is None
    assert trim_history([{"role": "user", "content": 5}], 6, 10) == [{"role": "user", "content": 5}]
