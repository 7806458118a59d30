"""Retention is enforced now: the Settings page no longer says it is not, and says what is destroyed when."""
import html

from tests.support.console import signed_in_client


def _retention_field(app) -> str:
    page = html.unescape(signed_in_client(app, "admin").get("/admin/settings/").get_data(as_text=True))
    start = page.index('name="retention_days"')
    return page[start:page.index('name="session_idle_minutes"')]


def test_the_settings_page_no_longer_says_keep_content_days_is_not_enforced(app):
    field = _retention_field(app)
    assert 'id="not-enforced-retention_days"' not in field
    assert "Not enforced yet" not in field


def test_the_settings_page_says_what_retention_destroys_and_when(app):
    field = _retention_field(app)
    assert "0 keeps it for ever" in field
    assert "a secure message's N days after its link expires (replies and files with it)" in field
    assert "a standard or inbound text's N days after sending" in field
