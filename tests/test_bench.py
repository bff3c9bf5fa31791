"""Every benchmark starts as the README says (`.venv/bin/python bench/<script>.py`): its imports resolve and its
options parse. The figures themselves are printed by running them, not asserted here."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(path.name for path in (ROOT / "bench").glob("bench_*.py"))


def test_the_readme_lists_every_benchmark() -> None:
    listed = set(re.findall(r"`(bench_\w+\.py)`", (ROOT / "README.md").read_text(encoding="utf-8")))
    assert listed == set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_starts_from_the_repository_root(script: str) -> None:
    run = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "usage:" in run.stdout
