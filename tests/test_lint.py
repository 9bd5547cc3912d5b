"""The tree passes `ruff check` (pyflakes, pycodestyle at 120 columns, isort: ruff.toml), with the ruff pinned in
the dev extra."""

import subprocess
import sys

from conftest import REPO_ROOT


def test_ruff_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
