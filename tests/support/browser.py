"""The console in Chromium: sign in through the login page as a person would."""
from __future__ import annotations

from tests.support.console import PASSWORD


def sign_in_page(page, base_url: str, email: str, password: str = PASSWORD, next_path: str | None = None) -> None:
    """Fill and submit the login form at ``base_url`` (the caller waits for where it lands)."""
    page.goto(f"{base_url}/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
