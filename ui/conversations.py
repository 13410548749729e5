"""Conversations kept across reloads: stored on the server beside the index folder
(``conversations/<id>.json``), found again by the id in the URL (``?hoi=…``), and listed per browser
(each browser is given a random id in a cookie). Pure functions over the settings; no Streamlit.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

ID = re.compile(r"[0-9a-f]{12}")
TITLE_CHARS = 80
RECENT = 20


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def valid_id(text) -> bool:
    """Only ids this module made: never a path.

    >>> valid_id("0123456789ab"), valid_id("../../etc/passwd"), valid_id(None)
    (True, False, False)
    """
    return isinstance(text, str) and ID.fullmatch(text) is not None


def folder(settings) -> Path:
    return Path(settings.index_dir).parent / "conversations"


def title_of(messages: list[dict]) -> str:
    """The first question, shortened at a word: how the conversation is listed.

    >>> title_of([{"role": "user", "content": "Tỷ lệ hộ nghèo năm 2024 phấn đấu giảm còn bao nhiêu phần trăm?"}])
    'Tỷ lệ hộ nghèo năm 2024 phấn đấu giảm còn bao nhiêu phần trăm?'
    """
    first = next((m["content"] for m in messages if m.get("role") == "user"), "") or "Hội thoại"
    first = " ".join(str(first).split())
    if len(first) <= TITLE_CHARS:
        return first
    return first[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def save(settings, cid: str, owner: str | None, messages: list[dict], pending: str | None = None) -> bool:
    """Write the conversation atomically (a crash leaves the previous version); False when it cannot be.

    ``pending``: a question asked and not yet answered, so that a reload mid-answer asks it again
    instead of dropping it."""
    if not valid_id(cid):
        raise ValueError(f"bad conversation id {cid!r}")
    path = folder(settings) / f"{cid}.json"
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    old = load(settings, cid) or {}
    record = {"id": cid, "owner": old.get("owner", owner), "created": old.get("created", now), "updated": now,
              "title": title_of(messages or [{"role": "user", "content": pending or ""}]), "messages": messages}
    if pending:
        record["pending"] = pending
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{cid}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, ensure_ascii=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return True
    except (OSError, TypeError, ValueError) as exc:
        log.warning("conversation %s not saved: %s", cid, exc)
        return False


def load(settings, cid) -> dict | None:
    if not valid_id(cid):
        return None
    try:
        record = json.loads((folder(settings) / f"{cid}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("messages"), list) else None


def delete(settings, cid) -> None:
    if valid_id(cid):
        (folder(settings) / f"{cid}.json").unlink(missing_ok=True)


def recent(settings, owner: str | None, limit: int = RECENT) -> list[dict]:
    """This browser's conversations, newest first: [{"id", "title", "updated"}]."""
    if not owner:
        return []
    out = []
    for path in folder(settings).glob("*.json"):
        record = load(settings, path.stem)
        if record and record.get("owner") == owner:
            out.append({"id": record["id"], "title": record.get("title", ""), "updated": record.get("updated", "")})
    return sorted(out, key=lambda r: r["updated"], reverse=True)[:limit]
