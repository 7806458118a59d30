"""Two-factor sign-in through the console's real login: the half-signed-in step, codes used once, recovery
codes, rate limits, forced enrolment by the ``two_factor`` setting, and what is audited."""
from __future__ import annotations

import threading

import pytest

from messaging.audit import Actor
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.models import User
from messaging.security import two_factor
from seeds.factories import make_user
from tests.support.accounts import code_now, enrol, require_two_factor, stored_user
from tests.support.console import PASSWORD, csrf_token_from, sign_in, signed_in_client
from tests.support.records import audit_entries_in


def _user(app, email="two@example.com", role="staff"):
    with app.app_context():
        make_user(email, role=role)
    return email


def test_a_user_with_totp_is_only_half_signed_in_after_the_password(app):
    email = _user(app)
    secret, _codes = enrol(app, email)
    client, answer = sign_in(app, email, query_string={"next": "/admin/compose/"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/login/code"
    for path in ("/admin/", "/admin/compose/", "/admin/account/"):  # nothing of the console yet
        assert client.get(path).status_code == 302
    page = client.get("/login/code")
    assert page.status_code == 200 and "Your two-factor code" in page.get_data(as_text=True)
    assert audit_entries_in(app, "user.login") == []
    # The users list's "Last sign-in" counts a finished sign-in only, not a correct password alone.
    assert stored_user(app, email).last_login_at is None
    with app.app_context():
        done = client.post("/login/code", data={"code": code_now(secret)})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/compose/"  # the checked next
    assert client.get("/admin/compose/").status_code == 200
    [login] = audit_entries_in(app, "user.login")
    assert login.detail["second_factor"] == "totp"
    assert stored_user(app, email).last_login_at == login.at


def test_the_next_path_is_still_checked_with_two_factor(app):
    email = _user(app)
    secret, _ = enrol(app, email)
    client, _answer = sign_in(app, email, query_string={"next": "//evil.example/"})
    with app.app_context():
        done = client.post("/login/code", data={"code": code_now(secret)})
    assert done.headers["Location"] == "/admin/"


def test_a_wrong_code_is_refused_and_audited_and_a_code_works_once(app):
    email = _user(app)
    secret, _ = enrol(app, email)
    client, _ = sign_in(app, email)
    wrong = client.post("/login/code", data={"code": "000000" if code_now(secret) != "000000" else "111111"})
    assert wrong.status_code == 401 and "That code is not valid" in wrong.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    [failed] = audit_entries_in(app, "user.login_failed")
    assert failed.detail["reason"] == "wrong_code" and failed.target_id == str(stored_user(app, email).id)
    assert failed.ip_hash  # the address, as a keyed hash
    with app.app_context():
        code = code_now(secret)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    # The same code, inside its 30 seconds, in another browser: already spent.
    other, _ = sign_in(app, email)
    again = other.post("/login/code", data={"code": code})
    assert again.status_code == 401
    assert other.get("/admin/").status_code == 302


def test_codes_of_the_neighbouring_steps_pass_and_older_ones_do_not(app, clock):
    email = _user(app)
    secret, _ = enrol(app, email)
    clock.ahead(minutes=10)
    with app.app_context():
        late, stale = code_now(secret, steps_ahead=-1), code_now(secret, steps_ahead=-3)
    client, _ = sign_in(app, email)
    assert client.post("/login/code", data={"code": stale}).status_code == 401
    assert client.post("/login/code", data={"code": late}).status_code == 302


def test_a_recovery_code_signs_in_once(app):
    email = _user(app)
    _secret, codes = enrol(app, email)
    assert len(codes) == 10 and len(set(codes)) == 10
    client, _ = sign_in(app, email)
    ok = client.post("/login/code", data={"code": codes[3].upper()})
    assert ok.status_code == 302
    home = client.get("/admin/")
    assert home.status_code == 200 and "it cannot be used again. 9 left" in home.get_data(as_text=True)
    [login] = audit_entries_in(app, "user.login")
    assert login.detail["second_factor"] == "recovery"
    other, _ = sign_in(app, email)
    assert other.post("/login/code", data={"code": codes[3]}).status_code == 401
    assert len(stored_user(app, email).recovery_code_hashes) == 9
    assert codes[3].replace("-", "") not in str(stored_user(app, email).recovery_code_hashes)


def test_one_recovery_code_sent_twice_at_once_signs_in_once(make_app):
    app = make_app(LOGIN_LIMIT="100 per minute")
    email = _user(app)
    _secret, codes = enrol(app, email)
    clients = [sign_in(app, email)[0] for _ in range(4)]
    results: list[int] = []
    barrier = threading.Barrier(len(clients))

    def use(client):
        barrier.wait()
        results.append(client.post("/login/code", data={"code": codes[0]}).status_code)

    threads = [threading.Thread(target=use, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [302, 401, 401, 401]


def test_wrong_codes_meet_the_account_limit(make_app):
    app = make_app(LOGIN_ACCOUNT_LIMIT="3 per hour", LOGIN_LIMIT="100 per minute")
    email = _user(app)
    secret, _ = enrol(app, email)
    client, _ = sign_in(app, email)
    for _ in range(3):
        assert client.post("/login/code", data={"code": "12345-54321"}).status_code == 401
    limited = client.post("/login/code", data={"code": "12345-54321"})
    assert limited.status_code == 429 and "Too many attempts" in limited.get_data(as_text=True)
    with app.app_context():
        assert client.post("/login/code", data={"code": code_now(secret)}).status_code == 429


def test_the_code_step_expires(app, monkeypatch):
    email = _user(app)
    secret, _ = enrol(app, email)
    client, _ = sign_in(app, email)
    with client.session_transaction() as session:
        pending = session["two_factor_pending"]
        session["two_factor_pending"] = {**pending, "at": pending["at"] - 6 * 60}
    with app.app_context():
        late = client.post("/login/code", data={"code": code_now(secret)})
    assert late.status_code == 302 and late.headers["Location"] == "/login"
    assert client.get("/admin/").status_code == 302


def test_the_code_page_needs_a_password_first(app):
    answer = app.test_client().get("/login/code")
    assert answer.status_code == 302 and answer.headers["Location"] == "/login"


def test_with_two_factor_off_nothing_changes_for_users_without_it(app):
    _user(app, "plain@example.com")
    client, answer = sign_in(app, "plain@example.com")
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("policy, role, fenced", [
    ("admins", "admin", True), ("admins", "staff", False), ("all", "staff", True), ("off", "admin", False)])
def test_the_setting_sends_users_without_totp_to_enrol_first(app, policy, role, fenced):
    email = _user(app, f"{role}-x@example.com", role)
    require_two_factor(app, policy)
    client, _ = sign_in(app, email)
    answer = client.get("/admin/")
    if not fenced:
        assert answer.status_code == 200
        return
    assert answer.status_code == 302 and answer.headers["Location"] == "/admin/account/two-factor/"
    assert client.get("/admin/compose/").headers["Location"] == "/admin/account/two-factor/"
    page = client.get("/admin/account/two-factor/").get_data(as_text=True)
    assert "requires two-factor sign-in" in page and "<svg" in page
    assert client.post("/logout").status_code == 302  # signing out stays possible


def test_enrolment_through_the_account_pages(csrf_app):
    app = csrf_app
    client = signed_in_client(app, "staff", email="me@example.com")
    page = client.get("/admin/account/two-factor/")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    secret = html.split('data-secret="')[1].split('"')[0]
    assert client.get("/admin/account/two-factor/").get_data(as_text=True).count(secret) >= 1  # same secret on reload
    token = csrf_token_from(html)
    wrong = client.post("/admin/account/two-factor/enable/", data={"code": "abc", "csrf_token": token})
    assert wrong.status_code == 422 and "is not a valid code" in wrong.get_data(as_text=True)
    assert stored_user(app, "me@example.com").totp_enabled_at is None
    with app.app_context():
        code = code_now(secret)
    shown = client.post("/admin/account/two-factor/enable/", data={"code": code, "csrf_token": token})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    codes = shown.get_data(as_text=True).split("data-recovery-code>")[1:]
    assert len(codes) == 10
    user = stored_user(app, "me@example.com")
    assert user.totp_enabled_at is not None and secret.encode() not in user.totp_secret_ciphertext
    assert [e.action for e in audit_entries_in(app, "user.two_factor_enabled")] == ["user.two_factor_enabled"]
    assert "http" not in html.split("<svg")[1].split("</svg>")[0]  # the QR code is drawn here, fetched from nowhere
    assert "Two-factor sign-in is <strong>on</strong>" in client.get("/admin/account/two-factor/").get_data(
        as_text=True)


def test_turning_it_on_ends_the_other_password_only_sessions(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    other, _ = sign_in(app, "me@example.com")
    secret = client.get("/admin/account/two-factor/").get_data(as_text=True).split('data-secret="')[1].split('"')[0]
    with app.app_context():
        assert client.post("/admin/account/two-factor/enable/", data={"code": code_now(secret)}).status_code == 200
    assert client.get("/admin/compose/").status_code == 200
    assert other.get("/admin/compose/").status_code == 302


def test_a_session_already_open_is_sent_to_enrol_when_the_setting_changes(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    assert client.get("/admin/contacts/").status_code == 200
    require_two_factor(app, "all")
    fenced = client.get("/admin/contacts/")
    assert fenced.status_code == 302 and fenced.headers["Location"] == "/admin/account/two-factor/"


def test_regenerate_and_disable_need_a_current_code(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    secret, old_codes = enrol(app, "me@example.com")
    refused = client.post("/admin/account/two-factor/recovery-codes/", data={"code": "000000"})
    assert refused.status_code == 422
    with app.app_context():
        fresh = client.post("/admin/account/two-factor/recovery-codes/", data={"code": code_now(secret)})
    assert fresh.status_code == 200
    new_codes = [c.split("<")[0] for c in fresh.get_data(as_text=True).split("data-recovery-code>")[1:]]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert audit_entries_in(app, "user.recovery_codes_regenerated")
    other, _ = sign_in(app, "me@example.com")
    assert other.post("/login/code", data={"code": old_codes[0]}).status_code == 401
    off = client.post("/admin/account/two-factor/disable/", data={"code": new_codes[0]})
    assert off.status_code == 302
    assert stored_user(app, "me@example.com").totp_enabled_at is None
    assert audit_entries_in(app, "user.two_factor_disabled")
    assert sign_in(app, "me@example.com")[1].headers["Location"] == "/admin/"


def test_disable_is_refused_while_the_setting_requires_it(app):
    with app.app_context():
        make_user("boss@example.com", role="admin")
    secret, _ = enrol(app, "boss@example.com")
    require_two_factor(app, "admins")
    with app.app_context():
        user = db.session.execute(db.select(User).filter_by(email="boss@example.com")).scalar_one()
        with pytest.raises(Conflict):
            two_factor.disable(Actor.for_user(user), user, code_now(secret))
        with pytest.raises(ValidationFailed):
            two_factor.enable(Actor.for_user(user), User(email="x@example.com"), secret, "123")
    client, _ = sign_in(app, "boss@example.com")
    with app.app_context():
        client.post("/login/code", data={"code": code_now(secret)})
    page = client.get("/admin/account/two-factor/").get_data(as_text=True)
    assert "cannot be turned off" in page and "two-factor/disable/" not in page


def test_an_admin_resets_another_users_two_factor(app):
    admin = signed_in_client(app, "admin", email="boss@example.com")
    _user(app, "lost@example.com")
    enrol(app, "lost@example.com")
    target = stored_user(app, "lost@example.com").id
    confirm = admin.get(f"/admin/account/two-factor/reset/?id={target}")
    assert confirm.status_code == 200 and "Remove the two-factor enrolment of lost@example.com" in confirm.get_data(
        as_text=True)
    assert admin.post(f"/admin/account/two-factor/reset/?id={target}").status_code == 302
    assert stored_user(app, "lost@example.com").totp_enabled_at is None
    [entry] = audit_entries_in(app, "user.two_factor_reset")
    assert entry.target_id == str(target) and entry.actor == "boss@example.com"
    assert sign_in(app, "lost@example.com", PASSWORD)[1].headers["Location"] == "/admin/"
    staff = signed_in_client(app, "staff")
    assert staff.post(f"/admin/account/two-factor/reset/?id={target}").status_code == 403


def test_wrong_codes_on_the_account_pages_meet_the_account_limit(make_app):
    app = make_app(LOGIN_ACCOUNT_LIMIT="2 per hour", LOGIN_LIMIT="100 per minute")
    client = signed_in_client(app, "staff", email="me@example.com")
    secret, _ = enrol(app, "me@example.com")
    for _ in range(2):
        assert client.post("/admin/account/two-factor/disable/", data={"code": "999999"}).status_code == 422
    with app.app_context():
        assert client.post("/admin/account/two-factor/disable/", data={"code": code_now(secret)}).status_code == 429
    assert stored_user(app, "me@example.com").totp_enabled_at is not None


def test_a_posted_disable_is_refused_while_required(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    secret, _ = enrol(app, "me@example.com")
    require_two_factor(app, "all")
    with app.app_context():
        refused = client.post("/admin/account/two-factor/disable/", data={"code": code_now(secret)},
                              follow_redirects=True)
    assert "required for your account by the organisation" in refused.get_data(as_text=True)
    assert stored_user(app, "me@example.com").totp_enabled_at is not None
    assert audit_entries_in(app, "user.two_factor_disabled") == []
