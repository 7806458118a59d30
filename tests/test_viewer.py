"""The client's side of a secure message through the test client: landing, open, 404s, replies."""
from __future__ import annotations

from datetime import timedelta

import pytest

from messaging.audit import SYSTEM
from messaging.client.conversations import read_thread
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import revoke_message
from messaging.models import Message, MessageEvent
from messaging.security.tokens import make_link_token
from messaging.settings import change_setting
from seeds.factories import make_contact
from tests.support.messages import link_path, send
from tests.support.records import event_kinds
from viewer.session_cookie import COOKIE_NAME

BODY = "Your results are normal. Marker VW-5521."


def secure_message(contact=None, body=BODY, require_pin=None, channel="sms", subject=None) -> tuple[Message, str]:
    """A committed secure message and the path of its link (PUBLIC_BASE_URL stripped)."""
    contact = contact or make_contact(first_name="Ada", pin="2468")
    message = send(contact, channel=channel, body=body, subject=subject, secure=True, require_pin=require_pin)
    return message, link_path(message)


def test_opening_the_link_shows_only_a_landing_page_and_records_link_opened(ctx, client):
    message, path = secure_message()
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A secure message from Sealed demo clinic" in html
    assert BODY not in html and "VW-5521" not in html
    assert 'name="pin"' in html
    assert event_kinds(message).count("link_opened") == 1


def test_link_previews_fetching_the_link_many_times_never_count_as_viewed(ctx, client):
    message, path = secure_message(require_pin=False)
    for _ in range(3):
        assert client.get(path).status_code == 200
    db.session.refresh(message)
    assert message.viewed_at is None
    kinds = event_kinds(message)
    assert "viewed" not in kinds and "link_opened" in kinds
    # Opens within a few minutes share one row whose count grows: the table stays bounded.
    opened = db.session.execute(db.select(MessageEvent).filter_by(message_id=message.id, kind="link_opened")
                                ).scalars().all()
    assert len(opened) == 1 and opened[0].detail["opens"] == 3


def test_without_a_pin_the_open_message_button_shows_the_content_and_records_viewed(ctx, client):
    message, path = secure_message(require_pin=False)
    landing = client.get(path).get_data(as_text=True)
    assert "Open message" in landing and 'name="pin"' not in landing and BODY not in landing
    response = client.post(path)
    assert response.status_code == 200
    assert BODY in response.get_data(as_text=True)
    db.session.refresh(message)
    assert message.viewed_at is not None
    assert event_kinds(message).count("viewed") == 1


def test_right_pin_shows_the_content_records_verified_and_viewed_and_keeps_first_viewed_at(ctx, client):
    message, path = secure_message(subject="Lab results", channel="email")
    response = client.post(path, data={"pin": "2468"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert BODY in html and "Lab results" in html
    db.session.refresh(message)
    first_view = message.viewed_at
    assert first_view is not None
    client.post(path, data={"pin": "2468"})
    db.session.refresh(message)
    assert message.viewed_at == first_view
    kinds = event_kinds(message)
    # The second open rides on the session the first one started: no new proof, a new view.
    assert kinds.count("verified") == 1 and kinds.count("viewed") == 2


def test_wrong_pin_shows_no_content_and_says_how_many_attempts_are_left(ctx, client):
    message, path = secure_message()
    response = client.post(path, data={"pin": "1111"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert BODY not in html
    assert "That PIN is not right. 4 attempts left" in html
    db.session.refresh(message)
    assert message.viewed_at is None
    assert "pin_failed" in event_kinds(message)


def test_an_empty_or_malformed_pin_is_explained_and_not_counted(ctx, client):
    message, path = secure_message()
    for value in ("", "12", "abcd"):
        response = client.post(path, data={"pin": value})
        assert response.status_code == 422
        assert "Enter your PIN (4 to 8 digits)." in response.get_data(as_text=True)
    db.session.refresh(message)
    assert message.pin_failures == 0
    assert "pin_failed" not in event_kinds(message)


def test_events_store_the_client_ip_only_as_a_keyed_hash(ctx, client):
    message, path = secure_message()
    client.get(path, environ_base={"REMOTE_ADDR": "198.51.100.23"})
    client.post(path, data={"pin": "2468"}, environ_base={"REMOTE_ADDR": "198.51.100.23"})
    events = db.session.execute(db.select(MessageEvent).filter_by(message_id=message.id)
                                .where(MessageEvent.kind.in_(["link_opened", "verified", "viewed"]))).scalars().all()
    assert len(events) == 3
    hashes = {e.ip_hash for e in events}
    assert len(hashes) == 1 and None not in hashes
    assert "198.51.100.23" not in next(iter(hashes))
    for event in events:
        assert "198.51.100.23" not in str(event.detail)


def _bad_links(message: Message) -> dict[str, str]:
    good = link_path(message)
    token = good.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    return {
        "tampered": f"/m/{tampered}",
        "unknown": f"/m/{make_link_token('no-such-message', 1)}",
        "garbage": "/m/not-a-token",
    }


def test_tampered_truncated_and_unknown_links_get_the_same_neutral_404(ctx, client):
    # Issue 11: a validly signed link to an expired or revoked message says so (410, see
    # tests/test_viewer_access.py); only links that are not ours keep the neutral 404.
    expired, expired_path = secure_message()
    expired.expires_at = utcnow() - timedelta(minutes=1)
    revoked, revoked_path = secure_message()
    revoke_message(revoked, SYSTEM)
    db.session.commit()
    for path in (expired_path, revoked_path):
        gone = client.get(path)
        assert gone.status_code == 410 and BODY not in gone.get_data(as_text=True)
    live, live_path = secure_message()
    paths = {**_bad_links(live), "truncated": live_path[:-5]}

    bodies = {}
    for case, path in paths.items():
        for method in ("get", "post"):
            response = getattr(client, method)(path, data={"pin": "2468"} if method == "post" else None)
            assert response.status_code == 404, (case, method)
            bodies[(case, method)] = response.get_data()
    assert len(set(bodies.values())) == 1, "the 404 page must not differ between cases"
    page = next(iter(bodies.values())).decode()
    assert "This link cannot be opened" in page
    for hint in ("revoked", "tampered", "unknown", "signature", "invalid"):
        assert hint not in page.lower()
    assert BODY not in page
    assert "link_opened" not in event_kinds(expired) and "viewed" not in event_kinds(revoked)


def test_a_revoked_link_stops_working_at_once_even_mid_reading(ctx, client):
    message, path = secure_message()
    assert client.post(path, data={"pin": "2468"}).status_code == 200
    revoke_message(message, SYSTEM)
    db.session.commit()
    # Issue 11: the signed link now says it was withdrawn (410) instead of the neutral 404.
    for response in (client.get(path), client.post(path, data={"pin": "2468"})):
        assert response.status_code == 410 and BODY not in response.get_data(as_text=True)


def test_reply_is_encrypted_joins_the_thread_and_the_page_confirms(ctx, client):
    message, path = secure_message()
    html = client.post(path, data={"pin": "2468"}).get_data(as_text=True)
    assert 'name="body"' in html
    # The session cookie set by the right PIN is what lets the reply in (it replaced the view grant).
    response = client.post(f"{path}/reply", data={"body": "Thanks, see you Tuesday"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Your reply was sent" in page
    assert BODY in page  # the message is shown again
    reply = db.session.execute(db.select(Message).filter_by(direction="in")).scalar_one()
    assert reply.contact_id == message.contact_id and reply.reply_to_id == message.id
    assert b"Thanks, see you Tuesday" not in (reply.body_ciphertext or b"")
    items = read_thread(message.contact, SYSTEM, purpose="test")
    assert [(i.direction, i.body) for i in items] == [("out", BODY), ("in", "Thanks, see you Tuesday")]
    assert "replied" in event_kinds(message)


def test_reply_text_is_absent_from_the_sqlite_file(make_app):
    app = make_app()
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("scans the SQLite file; runs in the SQLite pass")
    client = app.test_client()
    with app.app_context():
        _message, path = secure_message()
    assert client.post(path, data={"pin": "2468"}).status_code == 200
    response = client.post(f"{path}/reply", data={"body": "Reply marker QX-7310"})
    assert response.status_code == 200
    file_path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    raw = open(file_path, "rb").read()
    try:
        raw += open(file_path + "-wal", "rb").read()
    except FileNotFoundError:
        pass
    assert b"Dana" in raw or b"Ada" in raw  # the scan reads real rows
    assert b"QX-7310" not in raw and b"VW-5521" not in raw


def test_the_session_lets_the_reader_reply_again_without_the_pin(ctx, client):
    message, path = secure_message()
    assert client.post(path, data={"pin": "2468"}).status_code == 200
    for text in ("first", "second"):
        response = client.post(f"{path}/reply", data={"body": text})
        assert response.status_code == 200 and "Your reply was sent" in response.get_data(as_text=True)
    assert event_kinds(message).count("replied") == 2
    assert event_kinds(message).count("verified") == 1


def test_reply_without_a_live_session_of_the_contact_is_refused(ctx, app):
    message, path = secure_message()
    other, other_path = secure_message(contact=make_contact(first_name="Bo", pin="1357"))
    other_client = app.test_client()
    assert other_client.post(other_path, data={"pin": "1357"}).status_code == 200  # another contact's session
    cookies = ("", "forged", make_link_token(message.public_id, message.token_version),
               other_client.get_cookie(COOKIE_NAME, path="/m/").value)
    for value in cookies:
        client = app.test_client()
        if value:
            client.set_cookie(COOKIE_NAME, value, path="/m/")
        response = client.post(f"{path}/reply", data={"body": "hello"})
        assert response.status_code == 403
        assert "open the message again" in response.get_data(as_text=True).lower()
    assert db.session.execute(db.select(Message).filter_by(direction="in")).first() is None


def test_a_session_idle_past_the_limit_is_refused(ctx, client, clock):
    message, path = secure_message()
    assert client.post(path, data={"pin": "2468"}).status_code == 200
    clock.ahead(minutes=16)  # viewer_session_minutes defaults to 15
    response = client.post(f"{path}/reply", data={"body": "too late"})
    assert response.status_code == 403
    assert db.session.execute(db.select(Message).filter_by(direction="in")).first() is None


@pytest.mark.parametrize("text, error", [
    ("   ", "Write a reply first."),
    ("x" * 5001, "A reply can be at most 5000 characters."),
])
def test_empty_or_over_long_replies_show_an_error_and_keep_the_text(ctx, client, text, error):
    message, path = secure_message()
    assert client.post(path, data={"pin": "2468"}).status_code == 200
    response = client.post(f"{path}/reply", data={"body": text})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error in page
    assert f">{text}</textarea>" in page
    assert "replied" not in event_kinds(message)


def test_with_replies_turned_off_there_is_no_form_and_a_reply_is_refused(ctx, client):
    change_setting(SYSTEM, "replies_allowed", "false")
    db.session.commit()
    message, path = secure_message()
    html = client.post(path, data={"pin": "2468"}).get_data(as_text=True)
    assert BODY in html
    assert "<textarea" not in html and "/reply" not in html
    response = client.post(f"{path}/reply", data={"body": "hello"})  # the session from the PIN above
    assert response.status_code == 403
    assert "Replies are turned off" in response.get_data(as_text=True)
    assert db.session.execute(db.select(Message).filter_by(direction="in")).first() is None


def test_landing_uses_the_organisation_name_and_brand_colour(ctx, client):
    change_setting(SYSTEM, "org_name", "Harbour Family Law")
    change_setting(SYSTEM, "brand_color", "#f5d000")
    db.session.commit()
    _message, path = secure_message()
    html = client.get(path).get_data(as_text=True)
    assert "A secure message from Harbour Family Law" in html
    assert "/m/_/theme.css" in html and "style=" not in html and "<script" not in html
    css = client.get("/m/_/theme.css")
    assert css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    assert "--brand: #f5d000" in text and "--brand-text: #111111" in text  # dark text on a light brand


def test_only_a_right_pin_sets_a_cookie_and_only_the_session_cookie(ctx, client):
    _message, path = secure_message()
    for response in (client.get(path), client.post(path, data={"pin": "1111"})):
        assert "Set-Cookie" not in response.headers
    opened = client.post(path, data={"pin": "2468"})
    cookies = opened.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith(f"{COOKIE_NAME}=")


def test_reloading_a_form_address_goes_back_to_the_landing_page(ctx, client):
    _message, path = secure_message()
    for suffix in ("/code", "/reply"):
        response = client.get(path + suffix)
        assert response.status_code == 303
        assert response.headers["Location"].endswith(path)
