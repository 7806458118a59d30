"""The remembered session: idle limit, sign out, locks and staff ending it, the cookie's attributes."""
from __future__ import annotations

from messaging.audit import SYSTEM
from messaging.client.sessions import end_contact_sessions, live_session_count
from messaging.db import db
from messaging.models import Message, ViewerSession
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import event_kinds
from viewer.session_cookie import COOKIE_NAME

BODY = "Your test results are ready. Marker SE-1001."


def pin_message(contact=None) -> Message:
    return send(contact or make_contact(first_name="Ada", pin="2468"), body=BODY, secure=True)


def sign_in(client, message: Message):
    response = client.post(link_path(message), data={"pin": "2468"})
    assert response.status_code == 200 and BODY in response.get_data(as_text=True)
    return response


def sees_thread(client, message: Message) -> bool:
    html = client.get(link_path(message)).get_data(as_text=True)
    return 'data-state="thread"' in html and BODY in html


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_the_session_lasts_while_the_client_is_active_and_ends_after_the_idle_limit(ctx, client, clock):
    message = pin_message()
    sign_in(client, message)
    clock.ahead(minutes=14)
    assert sees_thread(client, message)  # activity moves the idle limit on
    clock.ahead(minutes=28)  # 14 minutes after that request
    assert sees_thread(client, message)
    clock.ahead(minutes=44)  # 16 minutes idle
    html = client.get(link_path(message)).get_data(as_text=True)
    assert 'name="pin"' in html and BODY not in html
    reply = client.post(f"{link_path(message)}/reply", data={"body": "still there?"})
    assert reply.status_code == 403 and 'data-state="session_ended"' in reply.get_data(as_text=True)
    assert db.session.execute(db.select(Message).filter_by(direction="in")).first() is None


def test_the_idle_limit_follows_the_viewer_session_minutes_setting(ctx, client, clock):
    change_setting(SYSTEM, "viewer_session_minutes", "5")
    db.session.commit()
    message = pin_message()
    sign_in(client, message)
    clock.ahead(minutes=4)
    assert sees_thread(client, message)
    clock.ahead(minutes=10)
    assert not sees_thread(client, message)


def test_sign_out_ends_the_session_clears_the_cookie_and_says_so(ctx, client):
    message = pin_message()
    sign_in(client, message)
    response = client.post(f"{link_path(message)}/signout")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-state="signed_out"' in html
    assert BODY not in html and "You are signed out" in html
    (cleared,) = set_cookies(response)
    assert cleared.startswith(f"{COOKIE_NAME}=;") and "Path=/m/" in cleared
    assert "Expires=Thu, 01 Jan 1970" in cleared or "Max-Age=0" in cleared
    session = db.session.execute(db.select(ViewerSession)).scalar_one()
    assert session.ended_at is not None and session.ended_reason == "signed_out"
    assert "signed_out" in event_kinds(message)
    assert not sees_thread(client, message)


def test_the_old_cookie_value_is_worthless_after_sign_out(ctx, app):
    message = pin_message()
    client = app.test_client()
    sign_in(client, message)
    raw = client.get_cookie(COOKIE_NAME, path="/m/").value
    client.post(f"{link_path(message)}/signout")
    copy = app.test_client()
    copy.set_cookie(COOKIE_NAME, raw, path="/m/")  # a copy kept from before: the server ended it
    assert not sees_thread(copy, message)


def test_a_pin_lock_on_the_contact_ends_its_sessions(ctx, app):
    contact = make_contact(first_name="Ada", pin="2468")
    message, other = pin_message(contact), pin_message(contact)
    reader = app.test_client()
    sign_in(reader, message)
    guesser = app.test_client()
    statuses = [guesser.post(link_path(other), data={"pin": "0000"}).status_code for _ in range(5)]
    assert statuses[-1] == 423  # the fifth wrong PIN locks the contact
    assert not sees_thread(reader, message)
    session = db.session.execute(db.select(ViewerSession).filter_by(contact_id=contact.id)).scalar_one()
    assert session.ended_reason == "locked"


def test_staff_ending_the_contacts_sessions_works_on_a_page_already_open(ctx, client):
    message = pin_message()
    sign_in(client, message)  # the thread is open in the client's browser
    assert live_session_count(message.contact) == 1
    assert end_contact_sessions(message.contact, "revoked", SYSTEM) == 1
    db.session.commit()
    reply = client.post(f"{link_path(message)}/reply", data={"body": "hello?"})
    assert reply.status_code == 403 and 'data-state="session_ended"' in reply.get_data(as_text=True)
    assert BODY not in reply.get_data(as_text=True)
    assert not sees_thread(client, message)
    assert live_session_count(message.contact) == 0


def test_the_cookie_is_httponly_samesite_strict_on_the_viewer_path_and_not_secure_over_http(ctx, client):
    (cookie,) = set_cookies(sign_in(client, pin_message()))
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0].startswith(f"{COOKIE_NAME}=") and len(parts[0]) > len(COOKIE_NAME) + 30
    assert "HttpOnly" in parts and "SameSite=Strict" in parts and "Path=/m/" in parts
    assert "Secure" not in parts
    assert not any(p.startswith(("Max-Age", "Expires", "Domain")) for p in parts)  # ends with the browser


def test_the_cookie_is_secure_behind_tls(make_app):
    app = make_app(PROXY_FIX=1)  # one trusted proxy that terminates TLS
    client = app.test_client()
    with app.app_context():
        message = pin_message()
        path = link_path(message)
    response = client.post(path, data={"pin": "2468"}, headers={"X-Forwarded-Proto": "https"})
    (cookie,) = set_cookies(response)
    assert "Secure" in [p.strip() for p in cookie.split(";")]
    direct = app.test_client()  # the app's own https address, no proxy header
    response = direct.post(path, data={"pin": "2468"}, base_url="https://localhost")
    assert "Secure" in [p.strip() for p in set_cookies(response)[0].split(";")]


def test_the_viewer_never_sets_any_other_cookie(ctx, client, clock):
    contact = make_contact(first_name="Ada", pin="2468")
    message, other = pin_message(contact), pin_message(contact)
    coded = send(make_contact(first_name="Bo"), body="Code message.", secure=True, require_pin=True)
    path = link_path(message)
    responses = [client.get(path), client.post(path, data={"pin": "1111"}), client.post(path, data={"pin": "x"}),
                 client.post(link_path(coded) + "/code"), client.get("/m/not-a-token"),
                 client.post(path, data={"pin": "2468"}), client.get(link_path(other)),
                 client.post(f"{path}/reply", data={"body": "Thanks"}), client.post(f"{path}/reply", data={"body": ""}),
                 client.get("/m/_/theme.css"), client.post(f"{path}/signout")]
    clock.ahead(minutes=30)
    responses.append(client.post(f"{path}/reply", data={"body": "late"}))
    names = [c.split("=", 1)[0] for r in responses for c in set_cookies(r)]
    assert set(names) == {COOKIE_NAME}
    assert names.count(COOKIE_NAME) == 2  # set by the right PIN, cleared by sign out


def test_sign_out_without_a_session_or_with_a_dead_link_still_clears_the_cookie(ctx, client):
    message = pin_message()
    sign_in(client, message)
    response = client.post("/m/not-a-token/signout")
    assert response.status_code == 200 and 'data-state="signed_out"' in response.get_data(as_text=True)
    assert set_cookies(response)[0].startswith(f"{COOKIE_NAME}=;")
    assert db.session.execute(db.select(ViewerSession)).scalar_one().ended_reason == "signed_out"


def test_an_idle_session_is_not_counted_live_for_staff(ctx, client, clock):
    message = pin_message()
    sign_in(client, message)
    assert live_session_count(message.contact) == 1
    clock.ahead(minutes=15, seconds=1)
    assert live_session_count(message.contact) == 0


def test_a_link_opened_cross_site_lands_without_the_cookie_and_the_landing_form_then_skips_the_pin(ctx, client):
    # SameSite=Strict keeps the cookie off a link clicked in a web-mail page; the landing page's own
    # form, posted from the viewer, carries it, and the live session stands in for the PIN.
    contact = make_contact(first_name="Ada", pin="2468")
    message, other = pin_message(contact), pin_message(contact)
    sign_in(client, message)
    response = client.post(link_path(other), data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-state="thread"' in html and BODY in html
    assert "verified" not in event_kinds(other) and set_cookies(response) == []
