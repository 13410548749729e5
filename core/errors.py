"""Every error of the product, each with an English log message and a Vietnamese user message."""
from __future__ import annotations


class ProductError(Exception):
    """Base: ``str(err)`` is for logs (English), ``err.user_message`` for people (Vietnamese).

    Every boundary (CLI, app page, batch line) catches this one class and shows ``user_message``.
    """

    def __init__(self, message: str, user_message: str):
        super().__init__(message)
        self.user_message = user_message


# -- documents and the index ----------------------------------------------------------------
class IndexingError(ProductError):
    """A document or the index cannot be read, built or opened."""


class DocumentError(IndexingError):
    """The file cannot be read as a resolution."""


class NoClausesError(IndexingError):
    """The text has no recognisable clause structure."""


class IndexMissingError(IndexingError):
    """No index has been built yet."""


class IndexMismatchError(IndexingError):
    """The index on disk was built by another model, schema or source."""


class IndexBusyError(IndexingError):
    """Another process is building the index."""


class StoreUnavailableError(IndexingError):
    """The configured Chroma server cannot be reached (server mode)."""


class ModelMissingError(IndexMismatchError):
    """The index was built with an embedding model that is not on this machine (answering never
    re-embeds with the fallback)."""

    def __init__(self, built_with: str, available: str, models_dir) -> None:
        super().__init__(
            f"index built with {built_with!r} but that model is not in {models_dir} (only {available!r}); "
            "install it (bash scripts/setup.sh) or rebuild with: python -m index build",
            f"Chỉ mục được xây bằng mô hình {built_with}, nhưng mô hình này không có trên máy (thư mục "
            f"{models_dir}). Hãy cài lại mô hình (bash scripts/setup.sh), hoặc xây lại chỉ mục bằng mô hình "
            f"đang có ({available}): python -m index build",
        )


class IndexUnavailableError(IndexingError):
    """The index is intact but cannot be opened here: the disk is full or mounted read-only."""


class DiskFullError(IndexingError):
    """Not enough free disk space to write a new index generation (the current one is untouched)."""



# -- answering ------------------------------------------------------------------------------
class AssistantError(ProductError):
    """A question or an answering backend cannot be handled."""


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


# -- set-up -----------------------------------------------------------------------------------
class ModelFetchError(ProductError):
    """A model could not be fetched or failed verification; nothing was installed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "Không tải hoặc kiểm tra được mô hình; chưa có gì được cài. "
                                  "Hãy chạy lại: bash scripts/setup.sh")
