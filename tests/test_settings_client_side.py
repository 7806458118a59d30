"""The client side's settings through `flask settings set`: lifetimes that contradict each other are
refused with the reason, the new verification method and the viewer's session length are accepted
within their range."""
from __future__ import annotations

from messaging.settings import get_settings


def _set(runner, key, value):
    return runner.invoke(args=["settings", "set", key, value])


def test_link_lifetime_bounds_must_hold_the_default_lifetime(app, runner):
    assert _set(runner, "link_ttl_hours", "48").exit_code == 0
    too_high = _set(runner, "link_ttl_min_hours", "72")
    assert too_high.exit_code != 0 and "link_ttl_hours must lie between" in too_high.output
    below_min = _set(runner, "link_ttl_max_hours", "24")
    assert below_min.exit_code != 0 and "link_ttl_hours must lie between" in below_min.output
    assert _set(runner, "link_ttl_min_hours", "12").exit_code == 0
    assert _set(runner, "link_ttl_max_hours", "96").exit_code == 0
    crossed = _set(runner, "link_ttl_hours", "200")
    assert crossed.exit_code != 0 and "between link_ttl_min_hours (12) and link_ttl_max_hours (96)" in crossed.output
    with app.app_context():
        settings = get_settings()
        assert (settings.link_ttl_min_hours, settings.link_ttl_hours, settings.link_ttl_max_hours) == (12, 48, 96)


def test_date_of_birth_is_a_verification_method(app, runner):
    assert _set(runner, "pin_method", "date_of_birth").exit_code == 0
    wrong = _set(runner, "pin_method", "birthday")
    assert wrong.exit_code != 0 and "contact_pin, one_time_code, date_of_birth" in wrong.output
    with app.app_context():
        assert get_settings().pin_method == "date_of_birth"


def test_viewer_session_attachment_and_notice_settings_are_checked(app, runner):
    assert _set(runner, "viewer_session_minutes", "0").exit_code != 0
    assert _set(runner, "viewer_session_minutes", "20").exit_code == 0
    assert _set(runner, "attachment_max_mb", "500").exit_code != 0
    assert _set(runner, "attachment_max_mb", "5").exit_code == 0
    assert _set(runner, "client_attachments", "maybe").exit_code != 0
    assert _set(runner, "client_attachments", "true").exit_code == 0
    assert _set(runner, "notice_text_es", "x" * 501).exit_code != 0
    with app.app_context():
        settings = get_settings()
        assert (settings.viewer_session_minutes, settings.attachment_max_mb, settings.client_attachments) == (
            20, 5, True)
