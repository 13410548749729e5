"""Errors at the assistant's boundary; the CLI and the app turn them into Vietnamese messages."""
from __future__ import annotations

from index.errors import IndexingError


class AssistantError(IndexingError):
    """Base: ``str(err)`` for logs (English), ``err.user_message`` for people (Vietnamese)."""


class EmptyQuestionError(AssistantError):
    def __init__(self) -> None:
        super().__init__("empty question", "Vui lòng nhập câu hỏi.")


class QuestionTooLongError(AssistantError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"question of {length} characters exceeds the limit of {limit}",
            f"Câu hỏi quá dài ({length} ký tự). Vui lòng rút gọn dưới {limit} ký tự.",
        )


class BackendUnavailableError(AssistantError):
    """An LLM backend cannot be reached or is not installed."""
