"""The console's menu follows how staff work: the daily pages first, then what shapes them, Admin last."""
from __future__ import annotations

from html.parser import HTMLParser

from tests.support.console import signed_in_client


class MenuParser(HTMLParser):
    """The entries of the main menu bar, in order: (label, [labels of its dropdown items])."""

    def __init__(self):
        super().__init__()
        self.entries: list[tuple[str, list[str]]] = []
        self._depth = 0  # <ul> nesting inside the main menu; 0 outside it
        self._in_menu = False
        self._link_text: list[str] | None = None
        self._link_level = 0

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        if tag == "ul":
            if not self._in_menu and {"navbar-nav", "mr-auto"} <= set(classes):
                self._in_menu = True
            if self._in_menu:
                self._depth += 1
        elif tag == "a" and self._in_menu:
            self._link_text, self._link_level = [], self._depth

    def handle_endtag(self, tag):
        if tag == "a" and self._link_text is not None:
            label = " ".join("".join(self._link_text).split())
            if self._link_level == 1:
                self.entries.append((label, []))
            else:
                self.entries[-1][1].append(label)
            self._link_text = None
        elif tag == "ul" and self._in_menu:
            self._depth -= 1
            self._in_menu = self._depth > 0

    def handle_data(self, data):
        if self._link_text is not None:
            self._link_text.append(data)


def menu(client) -> list[tuple[str, list[str]]]:
    response = client.get("/admin/")
    assert response.status_code == 200
    parser = MenuParser()
    parser.feed(response.get_data(as_text=True))
    return parser.entries


def test_an_admin_sees_the_daily_work_first_then_what_shapes_it_and_admin_last(app):
    assert menu(signed_in_client(app, "admin")) == [
        ("Home", []),
        ("Conversations", []), ("Compose", []), ("Contacts", []), ("Segments", []), ("Imports", []),
        ("Broadcasts", []), ("Campaigns", []), ("Messages", []),
        ("Templates", []), ("Recommendation matrix", []), ("Deliveries", ["Scheduled", "Failed deliveries"]),
        ("Admin", ["Users", "API keys", "Webhooks", "Settings", "Audit log"]),
    ]


def test_staff_see_the_same_order_without_the_admin_pages(app):
    assert menu(signed_in_client(app, "staff")) == [
        ("Home", []),
        ("Conversations", []), ("Compose", []), ("Contacts", []), ("Segments", []), ("Imports", []),
        ("Broadcasts", []), ("Campaigns", []), ("Messages", []),
        ("Templates", []), ("Recommendation matrix", []), ("Deliveries", ["Scheduled"]),
    ]
