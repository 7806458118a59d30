"""The suite's own rules: tests share helpers through tests/support/, never through conftest or one another,
and a test that leaves a Flask context pushed fails instead of quietly changing the tests after it."""
from __future__ import annotations

import ast
from pathlib import Path

from tests.support.contexts import pop_leaked_contexts

TESTS = Path(__file__).resolve().parent
# Everything importable from tests/ as a top-level name (pytest puts tests/ on sys.path for its test modules).
LOCAL_NAMES = {path.stem for path in TESTS.glob("*.py")} | {
    path.name for path in TESTS.iterdir() if path.is_dir() and (path / "__init__.py").exists()}


def _suite_files() -> list[Path]:
    return sorted([*TESTS.glob("test_*.py"), *(TESTS / "support").rglob("*.py")])


def _imports(path: Path) -> list[str]:
    """Every module the file imports, dotted; ``from tests import x`` counts as ``tests.x``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            if node.module == "tests":
                names.extend(f"tests.{alias.name}" for alias in node.names)
    return names


def _is_test_module_or_conftest(name: str) -> bool:
    parts = name.split(".")
    module = parts[1] if parts[0] == "tests" and len(parts) > 1 else parts[0]
    return module == "conftest" or module.startswith("test_")


def test_no_test_imports_conftest_or_another_test_module():
    offences = [f"{path.relative_to(TESTS)} imports {name}" for path in _suite_files() for name in _imports(path)
                if _is_test_module_or_conftest(name)]
    assert offences == [], "shared code belongs in tests/support/: " + "; ".join(offences)


def test_helpers_are_imported_under_one_name():
    # `support.console` and `tests.support.console` would be two modules, each with its own state.
    offences = [f"{path.relative_to(TESTS)} imports {name}" for path in _suite_files() for name in _imports(path)
                if name.split(".")[0] in LOCAL_NAMES]
    assert offences == [], "import helpers as tests.support.…: " + "; ".join(offences)


def test_the_context_check_finds_and_pops_a_leaked_app_context(app):
    leaked = app.app_context()
    leaked.push()
    assert pop_leaked_contexts() == [leaked]
    assert pop_leaked_contexts() == []


def test_the_guard_fails_a_test_that_leaves_an_app_context_pushed(pytester):
    pytester.makeconftest((TESTS / "conftest.py").read_text())
    pytester.makepyfile(test_leaky="""
        def test_leaves_an_app_context_pushed(app):
            app.app_context().push()

        def test_pops_what_it_pushes(app):
            with app.app_context():
                pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:playwright")  # Playwright nests badly in-process
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_leaves_an_app_context_pushed*",
                                 "*the test left Flask contexts pushed*"])
