"""Prompts are files in prompts/; a missing file or an unknown variable fails loudly."""
from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@lru_cache(maxsize=None)
def load_prompt(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"prompt file missing: {path}")
    return path.read_text(encoding="utf-8")


def render(name: str, **values: str) -> str:
    template = load_prompt(name)
    wanted = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    missing, unknown = wanted - values.keys(), values.keys() - wanted
    if missing or unknown:
        raise KeyError(f"prompt {name!r}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    return template.format(**values)
