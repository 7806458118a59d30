"""The repository on another machine: `make test` gets to pytest without apt-get, tool output stays out of git.

The ``chromium`` target runs with a PATH of our choosing and ``CHROMIUM`` pointing at a file that
does not exist, so each case (no apt-get; apt-get without root or sudo; root; sudo) is the real
Makefile logic, with stand-ins for ``id``, ``sudo`` and ``apt-get`` that only record their calls.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make")
SH = shutil.which("sh") or "/bin/sh"

needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{SH}\n{body}\n")
    path.chmod(0o755)


def _make_chromium(tmp_path: Path, *tools: str, uid: int = 1000) -> subprocess.CompletedProcess:
    """``make chromium`` with only ``tools`` (each a stand-in) on PATH and chromium absent."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    _tool(bin_dir, "id", f'[ "$1" = -u ] && echo {uid}')
    if "apt-get" in tools:
        _tool(bin_dir, "apt-get", f'echo "apt-get frontend=$DEBIAN_FRONTEND $*" >> {log}')
    if "failing-apt-get" in tools:
        _tool(bin_dir, "apt-get", f'echo "apt-get $*" >> {log}; exit 100')
    if "sudo" in tools:
        _tool(bin_dir, "sudo", f'[ "$1" = -n ] && shift; echo "sudo $*" >> {log}; exec "$@"')
    if "env" in tools or "sudo" in tools:
        (bin_dir / "env").symlink_to(shutil.which("env"))
    if "sudo" in tools:  # the Makefile asks ``sudo -n true`` whether sudo works without a password
        (bin_dir / "true").symlink_to(shutil.which("true"))
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DEBIAN_FRONTEND")}
    return subprocess.run([MAKE, "-s", "-C", str(ROOT), "chromium", f"CHROMIUM={tmp_path / 'no-chromium'}",
                           f"PATH={bin_dir}"], env=environment, capture_output=True, text=True, timeout=60)


def _calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


@needs_make
def test_without_apt_get_make_says_why_the_browser_tests_skip_and_goes_on(tmp_path):
    result = _make_chromium(tmp_path, uid=0)
    assert result.returncode == 0, result.stderr
    assert "there is no apt-get" in result.stdout and "browser tests will skip" in result.stdout
    assert _calls(tmp_path) == []


@needs_make
def test_with_apt_get_but_neither_root_nor_sudo_make_goes_on_without_installing(tmp_path):
    result = _make_chromium(tmp_path, "apt-get", uid=1000)
    assert result.returncode == 0, result.stderr
    assert "needs root or sudo without a password" in result.stdout
    assert "browser tests will skip" in result.stdout
    assert _calls(tmp_path) == []


@needs_make
def test_as_root_make_installs_debians_chromium_without_questions(tmp_path):
    result = _make_chromium(tmp_path, "apt-get", "env", uid=0)
    assert result.returncode == 0, result.stderr
    assert _calls(tmp_path) == ["apt-get frontend= update -qq",
                                "apt-get frontend=noninteractive install -y -qq chromium"]


@needs_make
def test_with_sudo_make_installs_through_sudo(tmp_path):
    result = _make_chromium(tmp_path, "apt-get", "sudo", uid=1000)
    assert result.returncode == 0, result.stderr
    calls = _calls(tmp_path)
    assert "sudo apt-get update -qq" in calls
    assert "apt-get frontend=noninteractive install -y -qq chromium" in calls


@needs_make
def test_an_install_that_fails_where_apt_get_can_run_stops_make(tmp_path):
    result = _make_chromium(tmp_path, "failing-apt-get", "env", uid=0)
    assert result.returncode != 0
    assert "could not install chromium" in result.stderr


@needs_make
def test_chromium_already_there_is_left_alone(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    present = tmp_path / "chromium"
    _tool(tmp_path, "chromium", "exit 0")
    result = subprocess.run([MAKE, "-s", "-C", str(ROOT), "chromium", f"CHROMIUM={present}", f"PATH={bin_dir}"],
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")})
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


@pytest.mark.parametrize("path", [".schemathesis/cassette.yaml", "playwright-artifacts-3f2a/trace.zip",
                                  "test-results/junit.xml", ".hypothesis/examples/x", ".pytest_cache/v/x",
                                  ".ruff_cache/x", "htmlcov/index.html", ".coverage", "instance/secret_key", ".env"])
def test_tool_output_and_local_secrets_are_ignored_by_git(path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    result = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert result.returncode == 0, f"{path} is not ignored by .gitignore"
