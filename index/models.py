"""Where the offline models are on this machine, and whether a verified fetch installed them.

Cheap checks only (no hashing, no network); fetching and verifying is a set-up tool:
``python -m tools.fetch_models`` (scripts/setup.sh runs it).
"""
from __future__ import annotations

import json
from pathlib import Path

EMBEDDINGGEMMA = "embeddinggemma-300m"
QWEN = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_NAMES = (EMBEDDINGGEMMA, QWEN)
LOCK_FILE = Path(__file__).with_name("models.lock.json")
STAMP = ".verified.json"


def load_lock(path: Path | None = None) -> dict:
    """The lock without its 'about' note: {name: {wheels, files, ...}}."""
    data = json.loads(Path(path or LOCK_FILE).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if isinstance(v, dict) and "wheels" in v}


def settings_dirs() -> tuple[Path, Path]:
    """(models folder, wheel cache folder) of the current settings."""
    from core.config import get_settings

    s = get_settings()
    return Path(s.models_dir), Path(s.wheel_cache_dir)


def installed_model_dir(name: str, models_dir: Path | None = None, lock: dict | None = None) -> Path | None:
    """The model's folder if it was installed by a verified fetch, else None.

    Cheap (no hashing): the stamp must match the lock and every file must have its size,
    which catches a half-copied or truncated folder and a lock that moved on.
    """
    models_dir = Path(models_dir) if models_dir is not None else settings_dirs()[0]
    entry = (lock or load_lock()).get(name)
    folder = models_dir / name
    if entry is None or not (folder / STAMP).is_file():
        return None
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stamp.get("files") != entry["files"]:
        return None
    for rel, want in entry["files"].items():
        try:
            if (folder / rel).stat().st_size != want["size"]:
                return None
        except OSError:
            return None
    return folder


def gguf_path(models_dir: Path | None = None) -> Path | None:
    """Path of the verified Qwen GGUF file, or None when it is not installed."""
    folder = installed_model_dir(QWEN, models_dir)
    if folder is None:
        return None
    return next((folder / rel for rel in load_lock()[QWEN]["files"] if rel.endswith(".gguf")), None)
