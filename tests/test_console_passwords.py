"""Passwords in the console: users change their own (current one, new one twice), admins reset someone else's
to a generated one shown once. Both are audited and end the user's other sessions."""
from __future__ import annotations

import json
import re

import pytest

from messaging.audit import Actor
from messaging.errors import Conflict, ValidationFailed
from messaging.people.users import MIN_PASSWORD_LENGTH, change_own_password, reset_password
from seeds.factories import make_user
from tests.support.console import PASSWORD, sign_in, signed_in_client, user_id
from tests.support.records import audit_entries_in

NEW_PASSWORD = "a much longer passphrase"


def change(client, current: str, new: str, repeat: str | None = None):
    return client.post("/admin/account/", data={"current_password": current, "new_password": new,
                                                "confirm_password": new if repeat is None else repeat})


# --- own password ---

def test_the_account_page_asks_for_the_current_password_and_the_new_one_twice(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    page = client.get("/admin/account/").get_data(as_text=True)
    assert "me@example.com" in page
    for name, autocomplete in (("current_password", "current-password"), ("new_password", "new-password"),
                               ("confirm_password", "new-password")):
        assert re.search(rf'type="password" id="{name}" name="{name}" autocomplete="{autocomplete}"', page), name
    assert f"At least {MIN_PASSWORD_LENGTH} characters" in page


@pytest.mark.parametrize("current, new, repeat, message", [
    ("not my password", NEW_PASSWORD, None, "This is not your current password."),
    (PASSWORD, "too short", None, f"The new password must be at least {MIN_PASSWORD_LENGTH} characters."),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!", "This does not match the new password."),
    (PASSWORD, PASSWORD, None, "The new password must differ from your current password."),
])
def test_a_refused_change_says_why_and_changes_nothing(app, current, new, repeat, message):
    client = signed_in_client(app, "staff", email="me@example.com")
    refused = change(client, current, new, repeat)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert message in page and "Your password was not changed." in page
    assert new not in page or new == PASSWORD  # typed passwords are not sent back
    assert sign_in(app, "me@example.com", PASSWORD)[1].status_code == 302
    assert audit_entries_in(app, "user.password_change") == []


def test_changing_your_password_ends_your_other_sessions_but_not_this_one(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    other, _ = sign_in(app, "me@example.com", PASSWORD)
    changed = change(client, PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 302 and changed.headers["Location"] == "/admin/account/"
    assert "Your password is changed" in client.get("/admin/account/").get_data(as_text=True)
    assert client.get("/admin/compose/").status_code == 200  # this session carries on
    assert other.get("/admin/compose/").status_code == 302  # the other one is over
    assert sign_in(app, "me@example.com", PASSWORD)[1].status_code == 401
    assert sign_in(app, "me@example.com", NEW_PASSWORD)[1].status_code == 302
    [entry] = audit_entries_in(app, "user.password_change")
    assert entry.actor == "me@example.com" and entry.target_id == str(user_id(app, "me@example.com"))
    assert PASSWORD not in json.dumps(entry.detail) and NEW_PASSWORD not in json.dumps(entry.detail)


def test_wrong_current_passwords_are_limited_like_sign_ins(make_app):
    app = make_app(LOGIN_ACCOUNT_LIMIT="2 per hour")
    client = signed_in_client(app, "staff", email="me@example.com")
    assert [change(client, f"guess number {n}", NEW_PASSWORD).status_code for n in range(2)] == [422, 422]
    limited = change(client, PASSWORD, NEW_PASSWORD)
    assert limited.status_code == 429 and "Too many attempts" in limited.get_data(as_text=True)
    assert "default-src 'self'" in limited.headers["Content-Security-Policy"]
    assert client.get("/admin/account/").status_code == 200  # the page still opens; the session is intact


def test_the_account_page_needs_a_sign_in(client):
    answer = client.get("/admin/account/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


# --- an admin resets someone else's password ---

def test_an_admin_resets_a_password_after_confirming_and_sees_it_once(app):
    staff = signed_in_client(app, "staff", email="forgetful@example.com")
    admin = signed_in_client(app, "admin", email="boss@example.com")
    target = user_id(app, "forgetful@example.com")
    listing = admin.get("/admin/users/").get_data(as_text=True)
    assert f'href="/admin/users/reset-password/?id={target}"' in listing

    confirm = admin.get(f"/admin/users/reset-password/?id={target}")
    assert confirm.status_code == 200
    assert "Give forgetful@example.com a new password?" in confirm.get_data(as_text=True)
    assert staff.get("/admin/").status_code == 200  # asking changes nothing

    result = admin.post(f"/admin/users/reset-password/?id={target}")
    assert result.status_code == 200 and result.headers["Cache-Control"] == "no-store"
    page = result.get_data(as_text=True)
    assert "Copy this password now" in page
    plain = re.search(r'id="new-password"[^>]*value="([^"]+)"', page).group(1)
    assert len(plain) >= MIN_PASSWORD_LENGTH

    assert staff.get("/admin/").status_code == 302  # every session of theirs ended
    assert sign_in(app, "forgetful@example.com", PASSWORD)[1].status_code == 401
    assert sign_in(app, "forgetful@example.com", plain)[1].status_code == 302
    assert admin.get("/admin/users/").status_code == 200  # the admin's own session is untouched
    assert plain not in admin.get(f"/admin/users/reset-password/?id={target}").get_data(as_text=True)
    [entry] = audit_entries_in(app, "user.password_reset")
    assert entry.actor == "boss@example.com" and entry.target_id == str(target)
    assert entry.detail == {"email": "forgetful@example.com"}


def test_an_admin_is_sent_to_their_own_account_page_instead_of_resetting_themselves(app):
    admin = signed_in_client(app, "admin", email="boss@example.com")
    own = user_id(app, "boss@example.com")
    assert 'href="/admin/account/"' in admin.get("/admin/users/").get_data(as_text=True)
    for method in ("get", "post"):
        answer = getattr(admin, method)(f"/admin/users/reset-password/?id={own}")
        assert answer.status_code == 302 and answer.headers["Location"] == "/admin/account/"
    assert sign_in(app, "boss@example.com", PASSWORD)[1].status_code == 302
    assert audit_entries_in(app, "user.password_reset") == []


def test_staff_cannot_reset_passwords(app):
    staff = signed_in_client(app, "staff")
    with app.app_context():
        other = make_user("colleague@example.com", role="staff").id
    assert staff.get(f"/admin/users/reset-password/?id={other}").status_code == 403
    assert staff.post(f"/admin/users/reset-password/?id={other}").status_code == 403


# --- the core, without the console ---

def test_the_core_checks_the_current_password_and_both_new_ones(ctx):
    user = make_user("core@example.com", role="staff")
    actor = Actor.for_user(user)
    with pytest.raises(ValidationFailed) as refused:
        change_own_password(actor, user, "wrong", "short", "other")
    assert refused.value.fields == {"current_password": "is not your current password",
                                    "new_password": f"must be at least {MIN_PASSWORD_LENGTH} characters"}
    version = user.session_version
    assert change_own_password(actor, user, PASSWORD, NEW_PASSWORD, NEW_PASSWORD) == version + 1
    with pytest.raises(Conflict):
        reset_password(actor, user)  # not a way around the current password
