"""The test tree's one rule: what tests share lives in tests/support (or a folder's own helper modules), so no
module of the tree imports a test module or a conftest, whose fixtures reach tests through pytest alone."""

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def is_test_module(dotted: str) -> bool:
    last = dotted.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def imported_modules(path: Path) -> set[str]:
    """The modules `path` imports, with `from package import module` counted as `package.module`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_module_of_the_tree_imports_a_test_module() -> None:
    offenders = sorted(
        f"{path.relative_to(TESTS)} imports {module}"
        for path in TESTS.rglob("*.py")
        if "fixtures" not in path.relative_to(TESTS).parts
        for module in imported_modules(path)
        if module.startswith("tests.") and is_test_module(module)
    )
    assert offenders == []
