"""Signed link tokens: tampering, expiry, revocation, salts."""
from __future__ import annotations

from datetime import timedelta

from itsdangerous import URLSafeTimedSerializer

from messaging.audit import SYSTEM
from messaging.client.access import resolve_link
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import MessageRequest, cancel_scheduled, link_for, revoke_message, send_message
from messaging.security.tokens import LINK_SALT, make_link_token, read_link_token
from seeds.factories import make_contact
from tests.support.messages import send


def _message(**kwargs):
    return send(make_contact(pin="2468"), body="Hello", secure=True, **kwargs)


def _token(message) -> str:
    return link_for(message).rsplit("/", 1)[1]


def test_a_fresh_link_opens_its_own_message(ctx):
    message = _message()
    assert resolve_link(_token(message)) == message
    claims = read_link_token(_token(message), 3600)
    assert (claims.public_id, claims.version) == (message.public_id, message.token_version)


def test_any_change_to_the_token_is_refused(ctx):
    message = _message()
    token = _token(message)
    for i in range(0, len(token), 7):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert resolve_link(flipped) is None, i
    assert resolve_link(token + "x") is None
    assert resolve_link(token[:-1]) is None
    assert resolve_link("") is None
    assert resolve_link("x" * 5000) is None


def test_a_token_signed_with_another_secret_is_refused(ctx):
    message = _message()
    forged = make_link_token(message.public_id, message.token_version, secret="someone-elses-secret")
    assert resolve_link(forged) is None


def test_a_token_of_any_other_salt_cannot_stand_in_for_a_link(ctx):
    message = _message()
    from flask import current_app

    other = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sealed.password-reset")
    assert resolve_link(other.dumps({"m": message.public_id, "v": message.token_version})) is None
    assert resolve_link(URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT + "x").dumps(
        {"m": message.public_id, "v": message.token_version})) is None


def test_the_link_expires_with_the_message_link_lifetime(ctx):
    message = _message()
    token = _token(message)
    assert message.expires_at is not None
    assert abs(message.expires_at - (utcnow() + timedelta(hours=24 * 7))) < timedelta(minutes=1)
    message.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert resolve_link(token) is None


def test_a_token_older_than_its_signature_age_is_refused(ctx):
    message = _message()
    assert read_link_token(_token(message), max_age_seconds=-1) is None
    assert read_link_token(_token(message), max_age_seconds=60) is not None


def test_revoking_bumps_the_version_and_old_links_stop_working(ctx):
    message = _message()
    old = _token(message)
    revoke_message(message, SYSTEM)
    db.session.commit()
    assert message.token_version == 2
    assert resolve_link(old) is None
    # even a correctly signed link of the new version does not open a revoked message
    assert resolve_link(make_link_token(message.public_id, message.token_version)) is None


def test_a_link_of_an_older_version_is_refused(ctx):
    message = _message()
    message.token_version = 3
    db.session.commit()
    assert resolve_link(make_link_token(message.public_id, 2)) is None
    assert resolve_link(make_link_token(message.public_id, 3)) == message


def test_a_cancelled_scheduled_message_link_is_refused(ctx):
    message = _message(send_at=utcnow() + timedelta(days=1))
    token = _token(message)
    cancel_scheduled(message, SYSTEM)
    db.session.commit()
    assert resolve_link(token) is None


def test_standard_and_unknown_messages_have_no_viewer_page(ctx):
    contact = make_contact()
    standard = send_message(MessageRequest(contact=contact, channel="sms", body="Hi", secure=False), SYSTEM)
    db.session.commit()
    assert resolve_link(make_link_token(standard.public_id, standard.token_version)) is None
    assert resolve_link(make_link_token("no-such-message", 1)) is None
