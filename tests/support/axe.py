"""axe-core (from the npm registry, installed by `make axe`) run on a page a test has open in Chromium.

The viewer's Content-Security-Policy allows no script the page did not ship, so injecting axe into the
page under test would be refused (and must be: that refusal is what the policy is for). The check
therefore copies the page's markup into a second browser context opened with ``bypass_csp=True``,
at the same address so its stylesheets load from the app as before, and runs axe there. The page
under test keeps its real policy; only the copy that axe reads has it lifted.
"""
from __future__ import annotations

from pathlib import Path

import pytest

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
MISSING = (f"{AXE_SCRIPT.relative_to(AXE_SCRIPT.parents[2])} is missing: run `make axe` "
           "(npm ci installs axe-core from package-lock.json); the accessibility checks skip until then")

# WCAG 2.x A and AA plus axe's best practices: what "no violation" means for a client page.
RUN_OPTIONS = {"resultTypes": ["violations"],
               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                     "best-practice"]}}


def violations(page) -> list[dict]:
    """axe's violations on ``page`` as it is (axe must already be reachable: see ``AxeChecker``)."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    return page.evaluate("options => axe.run(document, options).then(r => r.violations)", RUN_OPTIONS)


def describe(found: list[dict]) -> str:
    """One line per violation and offending element, for an assertion message."""
    lines = []
    for violation in found:
        for node in violation.get("nodes", []):
            lines.append(f"{violation['id']} ({violation.get('impact')}): {violation['help']} at "
                         f"{', '.join(map(str, node.get('target', [])))}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


class AxeChecker:
    """Runs axe on a copy of a page from another context, whose CSP is bypassed (see the module's note)."""

    def __init__(self, browser, **context_options):
        self._browser = browser
        self._options = context_options
        self._context = None

    def check(self, page) -> list[dict]:
        """axe's violations for the page ``page`` shows now (markup copied as it is, same address)."""
        if self._context is None:
            self._context = self._browser.new_context(bypass_csp=True, **self._options)
        url, html = page.url, page.content()
        copy = self._context.new_page()
        try:
            # The document itself comes from the snapshot (a POST's answer cannot be fetched again);
            # its stylesheets, logo and icon are fetched from the app as the real page fetched them.
            copy.route(lambda address: address == url, lambda route: route.fulfill(status=200, body=html,
                                                        content_type="text/html; charset=utf-8"))
            copy.goto(url)
            return violations(copy)
        finally:
            copy.close()

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
            self._context = None


@pytest.fixture(name="axe")
def axe_fixture(browser):
    """An ``AxeChecker`` for a phone-sized screen; skips, saying why, when axe-core is not installed."""
    if not AXE_SCRIPT.exists():
        pytest.skip(MISSING)
    checker = AxeChecker(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield checker
    checker.close()
