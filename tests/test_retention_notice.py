"""Retention is a setting nothing enforces yet: the Settings page says so beside the field."""
from tests.support.console import signed_in_client


def test_the_settings_page_says_keep_content_days_is_not_enforced_yet(app):
    page = signed_in_client(app, "admin").get("/admin/settings/").get_data(as_text=True)
    field = page.index('name="retention_days"')
    notice = page.index('id="not-enforced-retention_days"')
    assert field < notice < page.index('name="session_idle_minutes"')  # right under its own field
    assert "Not enforced yet: whatever this says, nothing is deleted." in page[notice:]
