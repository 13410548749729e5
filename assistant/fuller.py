"""The fuller answer: a generated answer offered beside the instant verbatim one.

Its model (about 1 GB) loads on the first request, once, under a lock; whether to offer it is
decided without loading anything.
"""
from __future__ import annotations

import threading

from assistant.answerers import Answerer, make_answerer
from core.config import Settings
from core.errors import BackendUnavailableError

DISABLED = "Câu trả lời đầy đủ hơn đã bị tắt trong cấu hình."


class FullerAnswers:
    def __init__(self, settings: Settings, instant: str):
        self.settings = settings
        self.instant = instant  # the name of the answerer that gives the instant answer
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()

    def available(self) -> tuple[bool, str]:
        """Whether to offer the fuller answer, without loading the model; the reason (Vietnamese) when not."""
        if self.instant != "extractive":
            return False, "Câu trả lời đã do mô hình ngôn ngữ tạo."
        name = self.settings.fuller_answerer
        if name in ("none", "extractive"):
            return False, DISABLED
        if name in ("auto", "llamacpp"):
            from assistant.answerers.llm import llamacpp_missing

            missing = llamacpp_missing(self.settings)
            if missing:
                return False, missing
        return True, ""

    def answerer(self) -> Answerer:
        """The loaded model answerer (loaded on first use; BackendUnavailableError when it cannot be)."""
        with self._lock:
            if self._answerer is None:
                name = self.settings.fuller_answerer
                if name in ("none", "extractive"):
                    raise BackendUnavailableError(f"fuller answers are disabled ({name})", DISABLED)
                self._answerer = make_answerer("llamacpp" if name == "auto" else name, self.settings)
            return self._answerer
