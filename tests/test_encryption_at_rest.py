"""Envelope encryption: content is unreadable in the database file and survives key rotation."""
import pytest
from cryptography.fernet import Fernet

from messaging.audit import SYSTEM
from messaging.client.access import add_reply
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.messages import MessageRequest, message_content, send_message
from messaging.security.crypto import Keyring
from seeds.factories import make_contact

SECRET_SUBJECT = "Biopsy-Results-Subject-7731"
SECRET_BODY = "Your biopsy came back benign, marker XQ-4481"
SECRET_REPLY = "Thank you, reply marker ZR-9902"


def _raw_database_bytes(app) -> bytes:
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # close connections so the WAL is checkpointed into the file
    data = open(path, "rb").read()
    try:
        data += open(path + "-wal", "rb").read()
    except FileNotFoundError:
        pass
    return data


def test_the_database_file_holds_no_plaintext_subject_body_or_reply(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("scans the SQLite file; runs in the SQLite pass")
    with app.app_context():
        contact = make_contact(first_name="Noor", pin="2468")
        for channel, secure in (("email", True), ("email", False), ("sms", True)):
            message = send_message(MessageRequest(contact=contact, channel=channel, subject=SECRET_SUBJECT,
                                                  body=SECRET_BODY, secure=secure), SYSTEM)
        db.session.flush()
        add_reply(message, SECRET_REPLY, ip="203.0.113.9")
        db.session.commit()
        dispatch_once()
        assert message_content(message) == (SECRET_SUBJECT, SECRET_BODY)
    raw = _raw_database_bytes(app)
    assert b"Noor" in raw  # the scan does read the data: contact names are stored as they are
    for secret in (SECRET_SUBJECT, SECRET_BODY, SECRET_REPLY, "XQ-4481", "ZR-9902", "203.0.113.9"):
        assert secret.encode() not in raw, f"{secret!r} found in the database file"


def test_each_message_has_its_own_data_key(ctx):
    contact = make_contact()
    first = send_message(MessageRequest(contact=contact, channel="sms", body="same text", secure=True), SYSTEM)
    second = send_message(MessageRequest(contact=contact, channel="sms", body="same text", secure=True), SYSTEM)
    db.session.commit()
    assert first.data_key != second.data_key
    assert first.body_ciphertext != second.body_ciphertext


def test_rotated_master_keys_still_open_old_content_and_rotation_rewraps(ctx, runner):
    contact = make_contact()
    message = send_message(MessageRequest(contact=contact, channel="sms", body="before rotation",
                                          secure=True), SYSTEM)
    db.session.commit()
    old_key = ctx.config["ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    ctx.extensions["sealed.keyring"] = Keyring([new_key, old_key], ctx.config["SECRET_KEY"])
    assert message_content(message) == (None, "before rotation")
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "Re-wrapped" in result.output
    db.session.expire_all()
    ctx.extensions["sealed.keyring"] = Keyring([new_key], ctx.config["SECRET_KEY"])
    assert message_content(db.session.get(type(message), message.id)) == (None, "before rotation")


def test_ip_addresses_are_stored_only_as_keyed_hashes():
    ring_a = Keyring([Fernet.generate_key().decode()], "secret-a")
    ring_b = Keyring([Fernet.generate_key().decode()], "secret-b")
    assert ring_a.keyed_hash("198.51.100.7") == ring_a.keyed_hash("198.51.100.7")
    assert ring_a.keyed_hash("198.51.100.7") != ring_b.keyed_hash("198.51.100.7")
    assert "198.51.100.7" not in ring_a.keyed_hash("198.51.100.7")
