"""Bounds on what one document may cost, checked before the work they bound starts.

One shared process serves a whole office: a file that inflates to gigabytes or holds a hundred
thousand clauses must be refused with a message, not parsed for an hour. The defaults are far above
any real resolution (the corpus' largest is 50 KB and about 400 clauses) and each is a setting
(``TLNQ_MAX_DOCUMENT_MB`` …, see core/config.py).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    document_mb: int = 20  # the file as uploaded
    inflated_mb: int = 60  # a .docx's XML once unzipped
    pdf_pages: int = 500
    document_chars: int = 1_500_000  # the text once read (about 3 MB of Vietnamese UTF-8)
    clauses: int = 5_000  # per document, once parsed

    @classmethod
    def of(cls, settings) -> "Limits":
        """The limits configured in ``settings`` (``max_<name>`` fields), defaults for any not there.

        >>> Limits.of(object()).clauses, Limits.of(type("S", (), {"max_clauses": 10})()).clauses
        (5000, 10)
        """
        return cls(**{f.name: getattr(settings, f"max_{f.name}", f.default) for f in fields(cls)})
