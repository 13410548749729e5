"""ruff over the whole repository (ruff.toml): unused and undefined names, pycodestyle, the docstring rules."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_is_defined_after_a_main_guard():
    """`python -m pkg.mod` runs the module top to bottom: a function defined below `if __name__ == "__main__":`
    does not exist yet when main() calls it (eval.bench failed so)."""
    import ast

    late = []
    for path in sorted(REPO.glob("*.py")) + sorted(p for d in ("assistant", "core", "eval", "index", "tools", "ui")
                                                  for p in (REPO / d).rglob("*.py")):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        guard = next((i for i, node in enumerate(body) if isinstance(node, ast.If)
                      and "__main__" in ast.unparse(node.test)), None)
        if guard is not None:
            late += [f"{path.relative_to(REPO)}:{node.lineno}" for node in body[guard + 1:]
                     if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign))]
    assert late == []
