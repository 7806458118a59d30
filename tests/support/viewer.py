"""Steps on the client's pages that many tests take on their way to something else."""
from __future__ import annotations

import re


def page_state(response) -> str | None:
    """The page's ``data-state`` (what the client is looking at)."""
    found = re.search(r'<body data-state="([a-z_]+)"', response.get_data(as_text=True))
    return found.group(1) if found else None


def past_pin_choice(client, path: str, response):
    """After a one-time code the client may be asked to choose a PIN: answer "Not now" and return the
    page that follows (the thread); any other page is returned as it is."""
    if page_state(response) != "choose_pin":
        return response
    return client.post(f"{path}/pin", data={"action": "skip"})
