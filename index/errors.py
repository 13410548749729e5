"""Errors of the indexing side, each with an English log message and a Vietnamese user message."""
from __future__ import annotations


class IndexingError(Exception):
    """Base: ``str(err)`` is for logs (English), ``err.user_message`` for people (Vietnamese)."""

    def __init__(self, message: str, user_message: str):
        super().__init__(message)
        self.user_message = user_message


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
