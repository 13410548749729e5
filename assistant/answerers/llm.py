"""LLM answerers through LangChain chat models: Ollama, OpenAI-compatible servers, local GGUF.

The model sees only the selected clauses, cites them as [clause_id], and is then
held to the same citation check and grounding guard as everything else.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterator

from assistant.errors import BackendUnavailableError
from assistant.evidence import Candidate
from assistant.prompts import load_prompt, render
from assistant.query import Question

log = logging.getLogger(__name__)
CITED_ID = re.compile(r"\[([A-Z][A-Za-z0-9./~]*(?:/[A-Za-z0-9.~]+)*)\]")


def make_chat_model(name: str, settings):
    """Build the LangChain chat model; heavy imports happen only here."""
    try:
        if name == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or "http://localhost:11434",
                              temperature=settings.llm_temperature, num_predict=settings.llm_max_tokens)
        if name == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url,
                              api_key=settings.llm_api_key or "not-needed", temperature=settings.llm_temperature,
                              max_tokens=settings.llm_max_tokens, timeout=120)
        if name == "llamacpp":
            return _llamacpp(settings)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"backend {name!r} needs a package that is not installed: {exc}",
            "Mô hình ngôn ngữ chưa được cài đặt; đang dùng câu trả lời trích dẫn nguyên văn.",
        ) from exc
    raise ValueError(f"unknown LLM backend {name!r}")


def _llamacpp(settings):
    from index.models import gguf_path

    path = settings.llm_gguf_path or gguf_path(settings.models_dir)
    if not path or not Path(path).is_file():
        raise BackendUnavailableError(
            f"GGUF model not found ({path}); run: python -m index.models fetch qwen2.5-coder-1.5b-instruct-q4_k_m",
            "Chưa có mô hình Qwen cục bộ; đang dùng câu trả lời trích dẫn nguyên văn.",
        )
    try:
        import llama_cpp  # noqa: F401  (optional, built from source)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"llama-cpp-python is not installed: {exc}",
            "Chưa cài llama-cpp-python; đang dùng câu trả lời trích dẫn nguyên văn.",
        ) from exc
    from langchain_community.chat_models import ChatLlamaCpp

    return ChatLlamaCpp(model_path=str(path), temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
                        n_ctx=4096, n_threads=2, verbose=False, seed=0)


def build_messages(question: Question, evidence: list[Candidate]):
    from langchain_core.messages import HumanMessage, SystemMessage

    contexts = "\n\n".join(
        render("context_item", clause_id=c.clause_id, label=c.label, text=c.clause_text,
               headings=" › ".join(reversed(c.headings.split(" | "))) if c.headings else "")
        for c in evidence
    )
    return [SystemMessage(load_prompt("answer_system")),
            HumanMessage(render("answer_user", contexts=contexts, question=question.text))]


def cited_ids(text: str) -> list[str]:
    return list(dict.fromkeys(CITED_ID.findall(text)))


class LLMAnswerer:
    def __init__(self, name: str, model):
        self.name = name
        self.model = model

    def stream(self, question: Question, evidence: list[Candidate]) -> Iterator[str]:
        try:
            for chunk in self.model.stream(build_messages(question, evidence)):
                if chunk.content:
                    yield chunk.content
        except BackendUnavailableError:
            raise
        except Exception as exc:  # connection refused, timeouts, server errors
            raise BackendUnavailableError(
                f"{self.name} backend failed: {exc!r}",
                "Không kết nối được mô hình ngôn ngữ; đang dùng câu trả lời trích dẫn nguyên văn.",
            ) from exc
