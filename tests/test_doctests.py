"""Every worked example in a docstring is run: a module whose docstring shows ``>>>`` is doctested here,
so an example that drifts from the code fails the fast tier (found by scanning, so new ones count too)."""
from __future__ import annotations

import doctest
import importlib

import pytest

from tests.conftest import REPO

PACKAGES = ("assistant", "index", "ui", "eval")
MODULES = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for package in PACKAGES for path in (REPO / package).rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)


def test_the_examples_are_found():
    assert {"index.load", "index.parse", "assistant.query", "ui.text"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} shows '>>> ' but no example was collected"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (run: python -m doctest -v)"
