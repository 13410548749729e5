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
