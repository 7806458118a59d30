"""The client's pages in a phone-sized Chromium tab: a visit that records what each step loaded, and
the checks every client page must pass (state, status, language, own origin only, size, axe-core)."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from tests.support.axe import describe

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
PAGE_BUDGET = 50_000  # bytes on the wire: the document and everything it loads
# A missing button or field fails the step soon, saying which, rather than after Playwright's 30 s.
STEP_TIMEOUT_MS = 8_000
DOCUMENT_STATUS_NOTE = "Failed to load resource: the server responded with a status of"


# --- the browser side: a page that records what each step transferred ---

@dataclass
class Visit:
    """One phone-sized tab; ``step`` runs an action and keeps what that action's page loaded."""

    page: object
    origin: str
    requests: list = field(default_factory=list)
    documents: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    pending: int = 0

    def __post_init__(self):
        self.page.on("request", lambda _r: setattr(self, "pending", self.pending + 1))
        self.page.on("requestfinished", self._finished)
        self.page.on("requestfailed", lambda _r: setattr(self, "pending", self.pending - 1))
        self.page.on("response", lambda r: self.documents.append(r) if r.request.resource_type == "document"
                     else None)
        self.page.on("console", self._console)
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))

    def _finished(self, request) -> None:
        self.pending -= 1
        self.requests.append(request)

    def _console(self, message) -> None:
        # Chromium logs every 4xx/5xx document as a failed load; a 410 or 423 page is the answer, not a fault.
        own_status = message.text.startswith(DOCUMENT_STATUS_NOTE) and any(
            message.location.get("url") == document.url for document in self.documents)
        if message.type == "error" and not own_status:
            self.problems.append(message.text)

    def step(self, action) -> None:
        """Run ``action`` (which navigates), then wait for its page and every request the page made."""
        self.requests.clear()
        self.documents.clear()
        with self.page.expect_navigation(wait_until="load"):
            action()
        # The icon may be asked for just after "load": give it a moment, then wait for what is in flight.
        self.page.wait_for_timeout(50)
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        while self.pending and time.monotonic() < deadline:
            self.page.wait_for_timeout(20)

    def goto(self, url: str) -> None:
        self.step(lambda: self.page.goto(url))

    def submit(self, form_selector: str) -> None:
        """Press the form's own submit button, as a person would."""
        button = self.page.locator(form_selector).locator("button, input[type=submit]").first
        self.step(button.click)

    @property
    def state(self) -> str | None:
        return self.page.locator("body").get_attribute("data-state")

    @property
    def status(self) -> int | None:
        return self.documents[-1].status if self.documents else None

    def transferred(self) -> int:
        total = 0
        for request in self.requests:
            sizes = request.sizes()
            total += sizes["responseHeadersSize"] + max(sizes["responseBodySize"], 0)
        return total


def check_page(visit: Visit, axe, state: str, language: str, status: int) -> None:
    page = visit.page
    assert visit.state == state, f"expected data-state={state}, got {visit.state} at {page.url}"
    assert visit.status == status, f"{state}: HTTP {visit.status}, expected {status}"
    assert page.locator("html").get_attribute("lang") == language
    foreign = [r.url for r in visit.requests if not r.url.startswith(visit.origin + "/")]
    assert foreign == [], f"{state}: resources from elsewhere: {foreign}"
    kinds = {r.resource_type for r in visit.requests}
    assert {"document", "stylesheet"} <= kinds, f"{state}: the page's own loads were not all seen: {kinds}"
    assert visit.transferred() < PAGE_BUDGET, f"{state}: {visit.transferred()} bytes transferred"
    assert visit.problems == [], f"{state}: {visit.problems}"
    found = axe.check(page)
    assert found == [], f"{state} ({language}): axe-core found\n{describe(found)}"


def new_visit(browser, live_server, javascript: bool = True) -> Visit:
    context = browser.new_context(**PHONE, java_script_enabled=javascript)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return Visit(context.new_page(), live_server.url)


def latest_code(app, address: str) -> str:
    """The one-time code in the newest outbox record to ``address`` (queued codes are sent first)."""
    with app.app_context():
        dispatch_once()
        return re.search(r"(?<!\d)(\d{6})(?!\d)", read_outbox(address)[-1]["body"]).group(1)
