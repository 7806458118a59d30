"""Console sessions end on the server: sign-out, deactivation and an absolute lifetime end them, however the cookie
was kept. Sign-in is limited per address and per account, and every refused sign-in is audited."""
from __future__ import annotations

import json
import time

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import User
from messaging.people.users import set_user_active
from messaging.security.crypto import keyring
from seeds.factories import make_user
from tests.support.console import PASSWORD, sign_in, signed_in_client, user_id
from tests.support.records import audit_entries_in

COOKIE = "session"


def copy_of(app, client):
    """A second browser holding the very same session cookie (a stolen or backed-up cookie)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302 and response.headers["Location"].startswith("/login"), response.status_code


# --- sign-out ends the session on the server ---

def test_a_cookie_copied_before_sign_out_no_longer_opens_the_console(app):
    client = signed_in_client(app, "staff", email="copied@example.com")
    copy = copy_of(app, client)
    assert copy.get("/admin/contacts/").status_code == 200  # the copy works as well as the original
    assert client.post("/logout").status_code == 302
    assert_sent_to_login(copy.get("/admin/contacts/"))
    page = copy.get("/login").get_data(as_text=True)
    assert "Your session has ended" in page
    assert_sent_to_login(copy.get("/admin/contacts/"))  # and it stays ended
    [entry] = audit_entries_in(app, "user.logout")
    assert entry.actor == "copied@example.com" and entry.target_id == str(user_id(app, "copied@example.com"))


def test_signing_out_in_one_browser_ends_the_users_other_sessions_too(app):
    laptop = signed_in_client(app, "staff", email="two@example.com")
    phone, answer = sign_in(app, "two@example.com")
    assert answer.status_code == 302 and phone.get("/admin/").status_code == 200
    other_user = signed_in_client(app, "staff")
    phone.post("/logout")
    assert_sent_to_login(laptop.get("/admin/"))
    assert other_user.get("/admin/").status_code == 200  # only that user's sessions end
    again, answer = sign_in(app, "two@example.com")  # and signing in again works
    assert answer.status_code == 302 and again.get("/admin/").status_code == 200


def test_deactivation_ends_the_users_sessions_at_once(app):
    staff = signed_in_client(app, "staff", email="leaving@example.com")
    with app.app_context():
        set_user_active(SYSTEM, db.session.get(User, user_id(app, "leaving@example.com")), False)
        db.session.commit()
    assert_sent_to_login(staff.get("/admin/compose/"))
    with app.app_context():
        set_user_active(SYSTEM, db.session.get(User, user_id(app, "leaving@example.com")), True)
        db.session.commit()
    assert_sent_to_login(staff.get("/admin/compose/"))  # reactivation does not revive an old session


def test_an_admin_deactivating_a_user_from_the_console_signs_them_out(app):
    staff = signed_in_client(app, "staff", email="fired@example.com")
    admin = signed_in_client(app, "admin")
    target = user_id(app, "fired@example.com")
    assert admin.post(f"/admin/users/deactivate/?id={target}").status_code == 302
    assert_sent_to_login(staff.get("/admin/"))


def test_a_revoked_session_is_refused_on_posts_too(app):
    client = signed_in_client(app, "staff", email="poster@example.com")
    copy = copy_of(app, client)
    client.post("/logout")
    assert_sent_to_login(copy.post("/admin/compose/preview", data={"channel": "sms"}))
    assert_sent_to_login(copy.post("/logout"))


# --- the absolute lifetime ---

def test_a_session_ends_twelve_hours_after_sign_in_however_active(app):
    client = signed_in_client(app, "staff")
    with client.session_transaction() as session:
        session["signed_in_at"] -= 11.5 * 3600  # still within the day's twelve hours
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] -= 1 * 3600
        session["last_seen"] = time.time()  # active a moment ago: the idle timeout is not what ends it
    answer = client.get("/admin/contacts/")
    assert_sent_to_login(answer)
    assert "next=/admin/contacts/" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "a session lasts at most 12 hours after signing in" in page
    assert_sent_to_login(client.get("/admin/"))


def test_the_lifetime_follows_session_max_hours(make_app):
    app = make_app(SESSION_MAX_HOURS=2)
    client = signed_in_client(app, "staff")
    with client.session_transaction() as session:
        session["signed_in_at"] -= 2.5 * 3600
        session["last_seen"] = time.time()
    assert_sent_to_login(client.get("/admin/"))
    assert "at most 2 hours" in client.get("/login").get_data(as_text=True)


def test_session_max_hours_zero_turns_the_lifetime_off(make_app):
    app = make_app(SESSION_MAX_HOURS=0)
    client = signed_in_client(app, "staff")
    with client.session_transaction() as session:
        session["signed_in_at"] -= 1000 * 3600
        session["last_seen"] = time.time()
    assert client.get("/admin/").status_code == 200


def test_a_session_without_a_sign_in_time_or_version_is_not_accepted(app):
    client = signed_in_client(app, "staff")
    with client.session_transaction() as session:
        del session["signed_in_at"]
    assert_sent_to_login(client.get("/admin/"))
    client = signed_in_client(app, "staff")
    with client.session_transaction() as session:
        session.pop("session_version")  # a cookie from before sessions were versioned
    assert_sent_to_login(client.get("/admin/"))


# --- sign-in: audit and limits ---

def test_every_refused_sign_in_is_audited_with_the_normalised_email_and_a_hashed_address(app):
    with app.app_context():
        make_user("nurse@example.com", role="staff", password=PASSWORD)
        make_user("gone@example.com", role="staff", password=PASSWORD)
        set_user_active(SYSTEM, db.session.execute(db.select(User).filter_by(email="gone@example.com")).scalar_one(),
                        False)
        db.session.commit()
    client = app.test_client()
    assert sign_in(app, "  Nurse@Example.COM ", "wrong password!!", client)[1].status_code == 401
    assert sign_in(app, "nobody@example.com", "guess-number-two", client)[1].status_code == 401
    assert sign_in(app, "gone@example.com", PASSWORD, client)[1].status_code == 401
    assert sign_in(app, "nurse@example.com", PASSWORD, client)[1].status_code == 302  # not a failure
    wrong, unknown, inactive = audit_entries_in(app, "user.login_failed")
    with app.app_context():
        address_hash = keyring().keyed_hash("127.0.0.1")
    assert wrong.detail == {"email": "nurse@example.com", "reason": "wrong_password", "ip_hash": address_hash}
    assert wrong.target_type == "user" and wrong.target_id == str(user_id(app, "nurse@example.com"))
    assert wrong.actor == "anonymous" and wrong.user_id is None
    assert unknown.detail["email"] == "nobody@example.com" and unknown.detail["reason"] == "unknown_email"
    assert unknown.target_id is None
    assert inactive.detail["reason"] == "inactive"
    logged = json.dumps([e.detail for e in (wrong, unknown, inactive)])
    assert "wrong password!!" not in logged and "guess-number-two" not in logged and PASSWORD not in logged
    assert "127.0.0.1" not in logged


def test_sign_ins_are_limited_per_address_with_a_console_page(make_app):
    app = make_app(LOGIN_LIMIT="3 per minute")
    client = app.test_client()
    for n in range(3):
        assert sign_in(app, f"guess{n}@example.com", "wrong password!!", client)[1].status_code == 401
    _, limited = sign_in(app, "guess9@example.com", "wrong password!!", client)
    assert limited.status_code == 429
    page = limited.get_data(as_text=True)
    assert "Too many sign-in attempts" in page and 'name="password"' in page and "<html" in page
    assert limited.headers["Retry-After"]
    assert "default-src 'self'" in limited.headers["Content-Security-Policy"]
    assert len(audit_entries_in(app, "user.login_failed")) == 3  # the refused-by-limit attempt checked nothing
    assert client.get("/login").status_code == 200  # the form itself can still be shown


def test_sign_ins_are_limited_per_account_across_addresses(make_app):
    # Behind the proxy each attempt comes from another address: only the account's own budget stops them.
    app = make_app(LOGIN_ACCOUNT_LIMIT="3 per hour", LOGIN_LIMIT="100 per minute", PROXY_FIX=1)
    with app.app_context():
        make_user("target@example.com", role="admin", password=PASSWORD)
        make_user("bystander@example.com", role="staff", password=PASSWORD)

    def attempt(email: str, password: str, address: str):
        return sign_in(app, email, password, headers={"X-Forwarded-For": address})[1]

    for n in range(3):
        assert attempt("Target@example.com ", "wrong password!!", f"198.51.100.{n}").status_code == 401
    refused = attempt("target@example.com", PASSWORD, "198.51.100.77")  # even the right password now waits
    assert refused.status_code == 429 and "Too many sign-in attempts" in refused.get_data(as_text=True)
    assert attempt("bystander@example.com", PASSWORD, "198.51.100.77").status_code == 302


def test_successful_sign_ins_do_not_use_up_the_accounts_budget(make_app):
    app = make_app(LOGIN_ACCOUNT_LIMIT="2 per hour")
    with app.app_context():
        make_user("daily@example.com", role="staff", password=PASSWORD)
    for _ in range(4):
        assert sign_in(app, "daily@example.com")[1].status_code == 302


def _limited_by_address(app) -> tuple[int, int]:
    """Two clients behind different X-Forwarded-For: the status of each one's third attempt."""
    def attempt(address: str) -> int:
        _client, response = sign_in(app, f"x{address}@example.com", "wrong pass!", headers={"X-Forwarded-For": address})
        return response.status_code

    first = [attempt("203.0.113.1") for _ in range(3)]
    second = [attempt("203.0.113.2") for _ in range(3)]
    assert first == [401, 401, 429]
    return second[0], second[2]


def test_with_proxy_fix_each_forwarded_address_has_its_own_budget(make_app):
    app = make_app(LOGIN_LIMIT="2 per minute", PROXY_FIX=1)
    assert _limited_by_address(app) == (401, 429)


def test_without_proxy_fix_the_forwarded_header_is_ignored(make_app):
    app = make_app(LOGIN_LIMIT="2 per minute")  # PROXY_FIX defaults to 0: the header is the client's to invent
    assert app.config["PROXY_FIX"] == 0
    assert _limited_by_address(app) == (429, 429)


def test_a_sign_in_starts_a_fresh_session(app):
    with app.app_context():
        make_user("fresh@example.com", role="staff", password=PASSWORD)
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    sign_in(app, "fresh@example.com", client=client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["session_version"] == 1 and session["signed_in_at"] <= time.time()
