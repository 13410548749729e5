"""Checking generated answers with fake chat models: tidying, citations, the stricter guard."""
from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.answerers.llm import LLMAnswerer, build_messages, drop_unknown_brackets, present, tidy
from core.errors import BackendUnavailableError
from assistant.ground import guard, support, unsupported_names
from assistant.service import Assistant
from assistant.types import Answer
from index.build import build_index
from index.store import open_index
from tests.conftest import SEED

Q_POOR = "Tỷ lệ hộ nghèo năm 2024 là bao nhiêu?"


@pytest.fixture
def fake_index(tmp_settings, fake_embedder):
    build_index([SEED], tmp_settings, fake_embedder.name, lambda: fake_embedder)
    return open_index(tmp_settings.index_dir, tmp_settings, fake_embedder.name)


def _llm(reply: str) -> LLMAnswerer:
    return LLMAnswerer("llamacpp", GenericFakeChatModel(messages=iter([AIMessage(content=reply)])))


def test_tidy_drops_echoes_repeats_labels_and_list_marks():
    raw = ("Câu hỏi được trả lời bằng 1 câu:\n\nTỷ lệ hộ nghèo năm 2024 là bao nhiêu? [D1]]\n\n"
           "Trả lời: 1. Tỷ lệ hộ nghèo giảm còn 0,71% [D1]]. Tỷ lệ hộ nghèo giảm còn 0,71% [D1]].")
    assert tidy(raw, Q_POOR) == "Tỷ lệ hộ nghèo giảm còn 0,71% [D1]."
    # the question said back without a figure adds nothing
    assert tidy("Tỷ lệ hộ nghèo năm 2024 là [D1].", Q_POOR) == ""
    # ... but the question said back with its figure is an answer
    assert tidy("Tỷ lệ hộ nghèo năm 2024 là 0,71% [D1].", Q_POOR) == "Tỷ lệ hộ nghèo năm 2024 là 0,71% [D1]."
    # a refusal after a real answer is dropped; alone it stays, to be seen as a refusal
    assert tidy("Còn 0,71% [D1]. Nghị quyết không quy định nội dung này.") == "Còn 0,71% [D1]."
    assert tidy("Nghị quyết không quy định nội dung này.") == "Nghị quyết không quy định nội dung này."


def test_brackets_that_are_not_clause_ids_are_removed():
    assert drop_unknown_brackets("Còn 0,71% [D1]. Mã: [0,71%] [Tỉnh]", {"D1"}).strip() == "Còn 0,71% [D1]. Mã:"


def test_present_turns_ids_into_labels():
    labels = {"D1": "chỉ tiêu (15), mục 2.2, khoản 2, Điều 2"}
    assert present("Còn 0,71%. [D1] [D1]", labels) == "Còn 0,71% (chỉ tiêu (15), mục 2.2, khoản 2, Điều 2)."
    assert present("Còn 0,71%.", labels, inferred=True) == "Còn 0,71% (chỉ tiêu (15), mục 2.2, khoản 2, Điều 2)."


def test_guard_for_generated_text_checks_names_and_wording():
    source = "Triển khai đồng bộ các giải pháp giảm thiểu tỷ lệ mất cân bằng giới tính và tỷ lệ sinh con thứ ba"
    made_up = "Thực hiện thực hành dinh dưỡng hàng ngày cho cả người đàn ông và người phụ nữ."
    faithful = "Tỉnh triển khai đồng bộ các giải pháp giảm thiểu tỷ lệ mất cân bằng giới tính."
    assert support(made_up, source) < 0.2 < 0.8 < support(faithful, source)
    kept, removed = guard(f"{faithful} {made_up}", source, [], names_from=source)
    assert kept == faithful and removed == [made_up]
    assert unsupported_names("Trụ sở ở tỉnh Hà Nội.", "tỉnh Hưng Yên") == ["Hà Nội"]
    assert unsupported_names("Trần Quốc Toàn, Chủ tịch.", "CHỦ TỊCH Trần Quốc Toàn") == []
    # the cited clause's own address is not a figure to check; another clause's is
    label = "chỉ tiêu (11), mục 2.2, khoản 2, Điều 2"
    assert guard("Theo mục 2.2, khoản 2, Điều 2, tỷ số là 118,2.", "tỷ số 118,2", [label])[1] == []
    assert guard("Theo khoản 5, Điều 2, tỷ số là 118,2.", "tỷ số 118,2", [label])[1] != []
    # extractive answers keep the old, number-only guard
    assert guard(made_up, source, [])[0] == made_up


def test_messages_hold_a_worked_example_and_only_the_evidence(tmp_settings, fake_index, fake_embedder):
    assistant = Assistant(tmp_settings, fake_index, fake_embedder)
    decision = assistant.decide(Q_POOR)
    messages = build_messages(decision.question, decision.evidence)
    assert [m.type for m in messages] == ["system", "human", "ai", "human"]
    assert all(f"[{c.clause_id}]" in messages[-1].content for c in decision.evidence)
    assert Q_POOR in messages[-1].content


def test_generated_answer_without_ids_cites_the_clause_it_read(tmp_settings, fake_index, fake_embedder):
    assistant = Assistant(tmp_settings, fake_index, fake_embedder)
    answer = assistant.ask(Q_POOR, answerer=_llm("Năm 2024, tỷ lệ hộ nghèo giảm còn 0,71%."))
    assert answer.backend == "llamacpp" and answer.grounding.citations_inferred
    assert [c.clause_id for c in answer.citations] == ["D2/K2/M2.2/CT15"]
    assert answer.answer.endswith("(chỉ tiêu (15), mục 2.2, khoản 2, Điều 2).")


def test_generated_refusal_or_echo_gives_the_verbatim_answer_and_says_so(tmp_settings, fake_index, fake_embedder):
    assistant = Assistant(tmp_settings, fake_index, fake_embedder)
    for reply in ("Nghị quyết không quy định nội dung này.", "Tỷ lệ hộ nghèo năm 2024 là bao nhiêu? [D2/K2/M2.2/CT15]"):
        answer = assistant.ask(Q_POOR, answerer=_llm(reply))
        assert answer.backend == "extractive" and "0,71%" in answer.answer
        assert answer.grounding.llm_fallback and any("mô hình ngôn ngữ" in w.lower() for w in answer.warnings)


def test_streamed_pieces_then_the_checked_answer(tmp_settings, fake_index, fake_embedder):
    assistant = Assistant(tmp_settings, fake_index, fake_embedder)
    items = list(assistant.stream(Q_POOR, answerer=_llm("Tỷ lệ hộ nghèo giảm còn 0,71% [D2/K2/M2.2/CT15].")))
    *pieces, final = items
    assert isinstance(final, Answer) and all(isinstance(p, str) for p in pieces)
    assert final.timings_ms.first_token <= final.timings_ms.total
    assert final.answer == "Tỷ lệ hộ nghèo giảm còn 0,71% (chỉ tiêu (15), mục 2.2, khoản 2, Điều 2)."


def test_fuller_answer_is_offered_only_when_it_can_run(tmp_settings, fake_index, fake_embedder, tmp_path):
    missing = tmp_settings.model_copy(update={"llm_gguf_path": tmp_path / "none.gguf"})
    ok, why = Assistant(missing, fake_index, fake_embedder).fuller.available()
    assert not ok and "Qwen" in why
    with pytest.raises(BackendUnavailableError):
        Assistant(missing, fake_index, fake_embedder).fuller.answerer()
    off = tmp_settings.model_copy(update={"fuller_answerer": "none"})
    assert Assistant(off, fake_index, fake_embedder).fuller.available()[0] is False


def test_preview_never_shows_a_figure_the_guard_would_remove(tmp_settings, fake_index, fake_embedder):
    reply = ("Tỷ lệ hộ nghèo năm 2025 còn 0,2% [D2/K2/M2.2/CT15]. "
             "Tỷ lệ hộ nghèo giảm còn 0,71% [D2/K2/M2.2/CT15].\nNăm 2026 còn 0,1%.")
    assistant = Assistant(tmp_settings, fake_index, fake_embedder)
    *pieces, final = list(assistant.stream(Q_POOR, answerer=_llm(reply)))
    preview = "".join(pieces)
    assert "0,71%" in preview
    assert "0,2" not in preview and "0,1" not in preview and "0,2" not in final.answer
    assert final.grounding.removed_sentences == 2
