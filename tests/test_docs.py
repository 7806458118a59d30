"""The repository stands on its own: the README leads to docs/, and docs/contracts.md names every contract.

The lists are taken from the code (the app's CLI, ``SETTING_SPECS``, what ``config.load_config``
reads, the API's URL map, the status and event names), so a command, option, setting, variable or
endpoint added without its line in the docs fails here.
"""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONTRACTS = DOCS / "contracts.md"
# Built from pieces so that this file does not name what it forbids.
OUTSIDE_REFERENCES = ("../" + "shared", "shared/" + "DESIGN", "DESIGN" + ".md")


def contracts_text() -> str:
    return CONTRACTS.read_text(encoding="utf-8")


def named(text: str, name: str) -> bool:
    """``name`` appears as a code span's start (`name` or `name …`), not inside some longer word."""
    return re.search(r"`" + re.escape(name) + r"(?![\w-])", text) is not None


def test_readme_starts_with_run_and_test_and_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block
    for page in ("docs/architecture.md", "docs/contracts.md"):
        assert f"({page})" in readme, f"README.md does not link {page}"
        assert (ROOT / page).is_file()


def test_links_between_docs_resolve():
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).is_file(), f"{page.name} links {target}, which does not exist"


def _repository_files() -> list[Path]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed: cannot list the repository's files")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot list the repository's files")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name and (ROOT / name).is_file()]


def test_nothing_points_outside_the_repository():
    offenders = []
    for path in _repository_files():
        data = path.read_bytes()
        for reference in OUTSIDE_REFERENCES:
            if reference.encode() in data:
                offenders.append(f"{path.relative_to(ROOT)} mentions {reference}")
    assert not offenders, "\n".join(offenders)


# --- the command line ---

def _defined_here(command: click.Command) -> bool:
    """Whether this project wrote the command (Flask-Migrate's ``db`` group, say, it did not)."""
    callbacks = [command.callback]
    if isinstance(command, click.Group):
        callbacks += [sub.callback for sub in command.commands.values()]
    for callback in filter(None, callbacks):
        module = sys.modules.get(getattr(callback, "__module__", ""), None)
        source = Path(getattr(module, "__file__", "") or "/").resolve()
        if source.is_relative_to(ROOT) and "site-packages" not in source.parts:
            return True
    return False


def _cli_commands(app) -> list[tuple[str, click.Command, bool]]:
    """(full name, command, written here) for every command and group subcommand of the app."""
    found = []
    for name, command in sorted(app.cli.commands.items()):
        ours = _defined_here(command)
        found.append((name, command, ours))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub_name}", sub, ours) for sub_name, sub in sorted(command.commands.items())]
    return found


def test_every_command_and_option_is_in_the_contracts(app):
    text = contracts_text()
    commands = _cli_commands(app)
    assert any(name == "users create" for name, _, _ in commands), "the walk found none of cli.py's commands"
    missing = []
    for name, command, ours in commands:
        if not ours:  # another package's group: naming the group is enough
            if " " not in name and not named(text, name):
                missing.append(name)
            continue
        if not isinstance(command, click.Group) and not named(text, name):
            missing.append(name)
        for param in command.params:
            for option in getattr(param, "opts", []) + getattr(param, "secondary_opts", []):
                if option.startswith("--") and param.param_type_name == "option" \
                        and not re.search(re.escape(option) + r"(?![\w-])", text):
                    missing.append(f"{name} {option}")
    assert not missing, "docs/contracts.md does not name: " + ", ".join(missing)


# --- settings, environment, API, values ---

def test_every_setting_is_in_the_contracts():
    from messaging.settings import SETTING_SPECS

    text = contracts_text()
    missing = [key for key in SETTING_SPECS if not named(text, key)]
    assert not missing, "docs/contracts.md does not name the settings: " + ", ".join(missing)


def _names_in_config_source() -> set[str]:
    """Every UPPER_CASE string in config.py: the candidates for environment variables."""
    tree = ast.parse((ROOT / "config.py").read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.fullmatch(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,}", node.value)}


def environment_variables(instance: Path) -> set[str]:
    """The variables ``load_config`` really reads: setting one changes the config or stops the start."""
    import config

    candidates = _names_in_config_source()
    for spec in getattr(config, "CONFIG_SPECS", {}).values():
        candidates.add(getattr(spec, "variable", None) or spec.key)
    base = {"SECRET_KEY": "s" * 48, "ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    reference = config.load_config(str(instance), env=base)
    read = set()
    for name in sorted(candidates):
        for probe in ("7", "0"):  # two values, in case one of them is the default
            try:
                changed = config.load_config(str(instance), env={**base, name: probe}) != reference
            except config.ConfigError:
                changed = True
            if changed:
                read.add(name)
                break
    return read


def test_every_environment_variable_is_in_the_contracts(tmp_path):
    variables = environment_variables(tmp_path)
    assert {"SECRET_KEY", "DATABASE_URL", "SMTP_PORT", "SEALED_ENV"} <= variables, variables
    text = contracts_text()
    missing = sorted(name for name in variables if not named(text, name))
    assert not missing, "docs/contracts.md does not name the environment variables: " + ", ".join(missing)
    assert not list(tmp_path.iterdir()), "probing the configuration wrote into instance/"


def test_every_api_operation_is_in_the_contracts(app):
    text = contracts_text()
    operations = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.unknown_endpoint":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"<\1>", rule.rule)  # <int:contact_id> → <contact_id>
        operations += [f"{method} {path}" for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert "POST /api/v1/messages" in operations
    missing = [op for op in operations if f"`{op}`" not in text]
    assert not missing, "docs/contracts.md does not list the API operations: " + ", ".join(missing)


def test_every_status_and_event_kind_is_in_the_contracts():
    from messaging.models import DELIVERY_STATUSES, EVENT_KINDS, MESSAGE_STATUSES

    text = contracts_text()
    missing = [value for value in (*MESSAGE_STATUSES, *DELIVERY_STATUSES, *EVENT_KINDS) if not named(text, value)]
    assert not missing, "docs/contracts.md does not name: " + ", ".join(sorted(set(missing)))
