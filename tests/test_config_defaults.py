"""Configuration defaults live in config.py only: the rest of the app reads ``config["KEY"]``.

These read the source (no app). A default written beside a read (``config.get("X", 3)``,
``config.get("X") or 3``, ``region: str = "US"``) drifts from the one in ``config.py`` and from the
documented one; an environment read outside ``config.py`` is a setting the table does not know.
"""
from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from config import CONFIG_SPECS

ROOT = Path(__file__).resolve().parent.parent
NOT_APP = {"tests", "bench", "migrations"}
# Environment variables that are not app configuration: the Werkzeug reloader marks its child process.
PROCESS_VARIABLES = {"WERKZEUG_RUN_MAIN"}
# Parameters named after a setting must not carry their own default for it (None, "use the config", is fine).
SETTING_PARAMETERS = {"region", "phone_region"} | {key.lower() for key in CONFIG_SPECS}
KNOWN_KEYS = set(CONFIG_SPECS) | set(Flask.default_config)


def app_sources() -> list[Path]:
    """Every .py file of the app outside config.py, tests/, bench/ and migrations/."""
    found = []
    for entry in sorted(ROOT.iterdir()):
        if entry.name.startswith(".") or entry.name in NOT_APP:
            continue
        if entry.is_dir():
            found += sorted(p for p in entry.rglob("*.py") if "__pycache__" not in p.parts)
        elif entry.suffix == ".py" and entry.name != "config.py":
            found.append(entry)
    return found


def _is_config(node: ast.AST) -> bool:
    """``config``, ``app.config``, ``current_app.config``, ``self.config`` …"""
    return (isinstance(node, ast.Name) and node.id == "config") or \
        (isinstance(node, ast.Attribute) and node.attr == "config")


def _config_call(node: ast.AST, method: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method \
        and _is_config(node.func.value)


def _is_config_read(node: ast.AST) -> bool:
    return _config_call(node, "get") or (isinstance(node, ast.Subscript) and _is_config(node.value))


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and \
        isinstance(node.value, ast.Name) and node.value.id == "os"


def _is_getenv(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "getenv" and \
        isinstance(node.value, ast.Name) and node.value.id == "os"


def _literal(node: ast.AST | None):
    return node.value if isinstance(node, ast.Constant) else None


def _process_variable_read(node: ast.AST) -> ast.AST | None:
    """The ``os.environ``/``os.getenv`` node of a read of one of PROCESS_VARIABLES, else None."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value) and _literal(node.slice) in PROCESS_VARIABLES:
        return node.value
    if isinstance(node, ast.Call) and node.args and _literal(node.args[0]) in PROCESS_VARIABLES:
        if _is_getenv(node.func):
            return node.func
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and _is_environ(node.func.value):
            return node.func.value
    return None


def _parameter_defaults(node: ast.FunctionDef | ast.AsyncFunctionDef):
    args = node.args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults, strict=True))
    # A keyword-only parameter without a default has None in kw_defaults.
    pairs += [(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
              if default is not None]
    return pairs


def offences(path: Path, root: Path = ROOT) -> list[str]:
    """Each default written outside config.py in this file, as ``path:line: what``."""
    where = path.relative_to(root)
    found = []
    allowed_environ = set()  # ast.walk visits a read before the os.environ inside it
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        line = getattr(node, "lineno", 0)
        if _process_variable_read(node) is not None:
            allowed_environ.add(id(_process_variable_read(node)))
        elif _config_call(node, "get") and (len(node.args) > 1 or node.keywords):
            found.append(f"{where}:{line}: {ast.unparse(node)} (a default beside the read)")
        elif _config_call(node, "setdefault"):
            found.append(f"{where}:{line}: {ast.unparse(node)} (a default beside the read)")
        elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and _is_config_read(node.values[0]):
            found.append(f"{where}:{line}: {ast.unparse(node)} (a default beside the read)")
        elif (_is_environ(node) or _is_getenv(node)) and id(node) not in allowed_environ:
            found.append(f"{where}:{line}: {ast.unparse(node)} (the environment is read in config.py)")
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                {alias.name for alias in node.names} & {"environ", "getenv"}:
            found.append(f"{where}:{line}: {ast.unparse(node)} (the environment is read in config.py)")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg, default in _parameter_defaults(node):
                if arg.arg in SETTING_PARAMETERS and _literal(default) is not None:
                    found.append(f"{where}:{line}: {node.name}({arg.arg}={ast.unparse(default)}) "
                                 "(a setting's default in a signature)")
    return sorted(found, key=lambda entry: int(entry.split(":")[1]))


def config_keys_read(path: Path) -> list[tuple[int, str]]:
    """Each literal key read as ``config["KEY"]`` or ``config.get("KEY")`` in this file."""
    keys = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Subscript) and _is_config(node.value):
            key = _literal(node.slice)
        elif _config_call(node, "get") and node.args:
            key = _literal(node.args[0])
        else:
            continue
        if isinstance(key, str) and key.isupper():
            keys.append((node.lineno, key))
    return keys


def test_the_scan_sees_the_app_and_leaves_out_config_and_tests():
    names = {str(p.relative_to(ROOT)) for p in app_sources()}
    assert {"app.py", "api/__init__.py", "messaging/people/contacts.py", "hooks/twilio_webhooks.py"} <= names
    assert "config.py" not in names and not any(n.startswith(("tests/", "bench/", "migrations/")) for n in names)


def test_the_scan_finds_each_kind_of_default_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\n"
        "a = current_app.config.get('SMTP_PORT', 25)\n"
        "b = config.get('SMTP_HOST') or '127.0.0.1'\n"
        "c = app.config['REDIS_URL'] or 'memory://'\n"
        "d = os.environ.get('SMTP_HOST')\n"
        "e = os.getenv('PROXY_FIX')\n"
        "def f(raw, region: str = 'US'): pass\n"
        "g = os.environ.get('WERKZEUG_RUN_MAIN')\n"
        "h = config['SMTP_PORT']\n"
        "def i(lease_seconds=None): pass\n"
        "from os import environ\n")
    found = offences(sample, root=tmp_path)
    assert [int(entry.split(":")[1]) for entry in found] == [2, 3, 4, 5, 6, 7, 11], found


def test_no_config_default_is_written_outside_config_py():
    found = [entry for path in app_sources() for entry in offences(path)]
    assert not found, "defaults outside config.py (give the key its default in CONFIG_SPECS and read " \
                      "config[KEY]):\n" + "\n".join(found)


def test_every_config_key_the_app_reads_has_its_default_in_config_py():
    unknown = [f"{path.relative_to(ROOT)}:{line}: {key}" for path in app_sources()
               for line, key in config_keys_read(path) if key not in KNOWN_KEYS]
    assert not unknown, "config keys read without a row in CONFIG_SPECS:\n" + "\n".join(unknown)
