"""The shape of the code, as the package docstrings promise it: arrows point inward, parts stay small.

These read the source (no app): a newcomer relies on the folder names and the ``__init__``
docstrings to find a behaviour, so a module that grows past them or an import that points the
wrong way fails here rather than in review.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "messaging"
FACES = ("console", "viewer", "api", "hooks", "health")
FOUNDATION = {"db", "models", "clock", "errors", "audit", "audit_chain", "events", "settings", "setting_changes",
              "text_rules", "paging"}
MAX_CORE_LINES = 300

# What each package of the core may import, besides the foundation (its own modules always).
ALLOWED = {
    "security": set(),
    "rendering": set(),
    "people": {"security", "webhooks"},
    "policy": {"security", "rendering", "people.consent", "webhooks"},
    "client": {"security", "policy", "people", "messages", "delivery.transports.base", "attachments", "webhooks"},
    "delivery": {"security", "policy", "rendering", "messages", "client.codes", "people.consent",
                 "audience.import_runner", "outreach.broadcast_fanout", "outreach.campaign_runner", "webhooks",
                 "retention"},
    "audience": {"security", "people"},
    "attachments": {"security"},
    "outreach": {"security", "policy", "rendering", "people", "audience", "messages", "webhooks"},
    "retention": {"security"},
    "privacy": {"security", "people", "retention"},
    "webhooks": {"security"},
    "insight": set(),
}
# Rendering is pure text: not even the foundation's database.
RENDERING_FOUNDATION = {"errors"}


def _sources(folder: Path):
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement (``from a import b`` names ``a`` and ``a.b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _core_modules(path: Path) -> set[str]:
    """The core modules one file imports, relative to ``messaging`` (``security.crypto``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "messaging":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("messaging."):
                found.add(node.module.removeprefix("messaging."))
        elif isinstance(node, ast.Import):
            found.update(a.name.removeprefix("messaging.") for a in node.names if a.name.startswith("messaging."))
    return found


def _allowed(package: str, target: str) -> bool:
    top = target.split(".")[0]
    if top == package:
        return True
    if package == "rendering":
        return top in RENDERING_FOUNDATION
    return top in FOUNDATION or any(target == rule or target.startswith(rule + ".") for rule in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_core_package_imports_only_what_its_docstring_allows(package):
    wrong = [f"{path.relative_to(ROOT)} imports messaging.{target}"
             for path in _sources(CORE / package) for target in _core_modules(path) if not _allowed(package, target)]
    assert not wrong, "\n".join(sorted(wrong))


def test_the_foundation_builds_on_nothing_but_itself():
    # events hashes client IPs with the master keys: the one step up it takes.
    allowed = FOUNDATION | {"security.crypto"}
    foundation = [p for p in _sources(CORE) if p.parent == CORE and p.stem in FOUNDATION] + \
        _sources(CORE / "models")
    wrong = [f"{path.relative_to(ROOT)} imports messaging.{target}" for path in foundation
             for target in _core_modules(path)
             if target.split(".")[0] not in FOUNDATION and target not in allowed]
    assert not wrong, "\n".join(sorted(wrong))


def test_the_core_never_imports_a_face_or_the_request():
    wrong = []
    for path in _sources(CORE):
        for name in _imports(path):
            if name.split(".")[0] in FACES or name in {"flask.request", "flask.session", "flask.g"}:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_faces_never_import_each_other():
    wrong = []
    for face in FACES:
        for path in _sources(ROOT / face):
            for name in _imports(path):
                other = name.split(".")[0]
                if other in FACES and other != face:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_no_core_module_is_over_three_hundred_lines():
    long = [f"{p.relative_to(ROOT)}: {n} lines" for p in _sources(CORE)
            if (n := len(p.read_text().splitlines())) > MAX_CORE_LINES]
    assert not long, "\n".join(long)


def test_every_core_package_says_what_it_holds_and_may_import():
    for init in sorted(CORE.rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc) > 40, f"{init.relative_to(ROOT)} has no docstring saying what it holds"
    for package in ALLOWED:
        doc = ast.get_docstring(ast.parse((CORE / package / "__init__.py").read_text()))
        assert "import" in doc, f"messaging/{package} does not say what it may import"


def test_every_public_function_and_class_of_the_core_has_a_docstring():
    missing = []
    for path in _sources(CORE):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                    and not node.name.startswith("_") and not ast.get_docstring(node):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(missing)
