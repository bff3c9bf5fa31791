"""The dependency rule of pyproject.toml's import-linter contracts: one direction, nothing imports the runtime,
no import cycles (TYPE_CHECKING imports included). On failure the captured output names the imports at fault."""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold() -> None:
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0
