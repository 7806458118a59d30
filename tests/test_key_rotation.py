"""`flask keys rotate`: after it, the old key can go and everything sealed under it still opens."""
from __future__ import annotations

import json
import re

import pytest
from cryptography.fernet import Fernet, InvalidToken

from app import create_app
from messaging.audit import SYSTEM
from messaging.client.codes import issue_code
from messaging.db import db
from messaging.delivery.engine import dispatch_once
from messaging.delivery.transports.outbox import read_outbox
from messaging.messages import MessageRequest, message_content, send_message
from messaging.models import AuditEntry, Delivery, Message, OutboxEntry, User, WebhookEndpoint
from messaging.security.key_rotation import rotate_master_keys
from messaging.security.two_factor import check_second_factor
from messaging.webhooks.endpoints import endpoint_secret, register_endpoint
from seeds.factories import make_contact, make_user
from tests.support.accounts import code_now, enrol
from tests.support.app import app_config, dispose

SECURE_BODY = "Secure body sealed before rotation RT-1"
STANDARD_BODY = "Standard body sealed before rotation RT-2"
CODE_TEXT = re.compile(r"your code is \d{6}\. It expires in 10 minutes\.$")


@pytest.fixture
def same_database(tmp_path, monkeypatch):
    """Another app on the test's database (no schema reset) with other ENCRYPTION_KEYS."""
    monkeypatch.setenv("SEALED_ENV", "development")
    apps = []

    def build(first_app, keys: list[str]):
        app = create_app(app_config(tmp_path, ENCRYPTION_KEYS=keys, SECRET_KEY=first_app.config["SECRET_KEY"]))
        apps.append(app)
        return app

    yield build
    for app in apps:
        dispose(app)


def _sealed_everything(app) -> dict:
    """Messages of both modes, outbox records of their sends, and a code delivery still queued."""
    with app.app_context():
        contact = make_contact(first_name="Rota")
        secure = send_message(MessageRequest(contact=contact, channel="sms", body=SECURE_BODY, secure=True), SYSTEM)
        standard = send_message(MessageRequest(contact=contact, channel="sms", body=STANDARD_BODY, secure=False),
                                SYSTEM)
        db.session.commit()
        assert dispatch_once().sent == 2
        issue_code(secure, ip=None)
        db.session.commit()
        code = db.session.execute(db.select(Delivery).filter_by(kind="code")).scalar_one()
        assert code.status == "queued" and code.payload_ciphertext is not None
        return {"secure": secure.id, "standard": standard.id, "email": contact.email}


def _rotate(app, *args):
    return app.test_cli_runner().invoke(args=["keys", "rotate", *args])


def test_after_rotation_the_old_key_can_go_and_messages_outbox_and_queued_codes_still_open(
        make_app, same_database):
    first = make_app()
    old_key = first.config["ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    ids = _sealed_everything(first)

    rotated = _rotate(same_database(first, [new_key, old_key]), "--batch-size", "1")
    assert rotated.exit_code == 0, rotated.output
    assert "Re-wrapped 1 of 2 message keys…" in rotated.output
    assert "Re-wrapped 2 of 2 message keys…" in rotated.output
    assert "Re-wrapped 1 of 1 code payloads…" in rotated.output
    assert "Re-wrapped 2 of 2 outbox records…" in rotated.output
    assert "Done: 2 message keys, 1 code payloads, 2 outbox records" in rotated.output

    only_new = same_database(first, [new_key])
    with only_new.app_context():
        assert message_content(db.session.get(Message, ids["secure"]))[1] == SECURE_BODY
        assert message_content(db.session.get(Message, ids["standard"]))[1] == STANDARD_BODY
        printed = only_new.test_cli_runner().invoke(args=["outbox", "--json"])
        assert printed.exit_code == 0, printed.output
        bodies = [json.loads(line)["body"] for line in printed.output.splitlines()]
        assert len(bodies) == 2 and STANDARD_BODY in bodies
        assert dispatch_once().sent == 1  # the code queued before the rotation
        assert CODE_TEXT.search(read_outbox(ids["email"])[-1]["body"])


def test_without_rotation_removing_the_old_key_leaves_outbox_and_queued_codes_unreadable(
        make_app, same_database):
    first = make_app()
    ids = _sealed_everything(first)

    only_new = same_database(first, [Fernet.generate_key().decode()])
    with only_new.app_context():
        with pytest.raises(InvalidToken):
            message_content(db.session.get(Message, ids["secure"]))
        assert only_new.test_cli_runner().invoke(args=["outbox", "--json"]).exit_code != 0
        result = dispatch_once()
        assert result.sent == 0 and result.errors


def test_rotation_is_audited_once_with_the_counts_per_table(make_app, same_database):
    first = make_app()
    _sealed_everything(first)
    rotating = same_database(first, [Fernet.generate_key().decode(), first.config["ENCRYPTION_KEYS"][0]])
    assert _rotate(rotating).exit_code == 0
    with rotating.app_context():
        entries = db.session.execute(db.select(AuditEntry).filter_by(action="keys.rotate")).scalars().all()
        assert len(entries) == 1
        assert entries[0].detail["rotated"] == {"message": 2, "delivery": 1, "outbox_entry": 2}


def test_a_row_no_key_opens_is_reported_with_its_id_and_the_rest_is_still_rotated(make_app, same_database):
    first = make_app()
    old_key = first.config["ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    ids = _sealed_everything(first)
    with first.app_context():
        stray = OutboxEntry(channel="sms", to_address="+14155550000",
                            payload=Fernet(Fernet.generate_key()).encrypt(b"{}"))
        db.session.add(stray)
        db.session.commit()
        stray_id = stray.id

    rotated = _rotate(same_database(first, [new_key, old_key]))
    assert rotated.exit_code == 1
    assert f"1 outbox records open under no configured key, left as they were (outbox_entry ids {stray_id})" \
        in rotated.output
    assert "Done: 2 message keys, 1 code payloads, 2 outbox records" in rotated.output

    with same_database(first, [new_key]).app_context():
        assert message_content(db.session.get(Message, ids["secure"]))[1] == SECURE_BODY
        assert dispatch_once().sent == 1


def test_a_rotation_stopped_half_way_leaves_every_row_readable_and_a_second_run_finishes(
        make_app, same_database):
    first = make_app()
    old_key = first.config["ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    ids = _sealed_everything(first)

    class Stop(Exception):
        pass

    def crash_after_first_batch(_column):
        raise Stop

    both = same_database(first, [new_key, old_key])
    with both.app_context():
        with pytest.raises(Stop):
            rotate_master_keys(SYSTEM, batch_size=1, progress=crash_after_first_batch)
        db.session.rollback()
        assert message_content(db.session.get(Message, ids["secure"]))[1] == SECURE_BODY
        assert len(read_outbox()) == 2
    assert _rotate(both).exit_code == 0

    with same_database(first, [new_key]).app_context():
        assert message_content(db.session.get(Message, ids["standard"]))[1] == STANDARD_BODY
        assert len(read_outbox()) == 2


def test_two_factor_secrets_and_webhook_secrets_still_open_after_rotation_and_removal_of_the_old_key(
        make_app, same_database):
    """A staff member's authenticator keeps working and a receiver's signing secret stays the same."""
    first = make_app()
    old_key = first.config["ENCRYPTION_KEYS"][0]
    new_key = Fernet.generate_key().decode()
    user_email = "totp.rotation@example.com"
    with first.app_context():
        make_user(user_email, role="admin", password="a long rotation passphrase")
        # A public address literal: the URL check resolves nothing and refuses nothing.
        registered = register_endpoint(SYSTEM, "https://93.184.216.34/sealed-events", ["message.sent"])
        db.session.commit()
        endpoint_id, webhook_secret = registered.endpoint.id, registered.secret
    totp_secret, _recovery_codes = enrol(first, user_email)

    rotated = _rotate(same_database(first, [new_key, old_key]))
    assert rotated.exit_code == 0, rotated.output
    assert "Re-wrapped 1 of 1 two-factor secrets…" in rotated.output
    assert "Re-wrapped 1 of 1 webhook secrets…" in rotated.output

    only_new = same_database(first, [new_key])
    with only_new.app_context():
        user = db.session.execute(db.select(User).filter_by(email=user_email)).scalar_one()
        assert check_second_factor(user, code_now(totp_secret)).kind == "totp"
        assert endpoint_secret(db.session.get(WebhookEndpoint, endpoint_id)) == webhook_secret
        db.session.rollback()

    never_rotated = same_database(first, [Fernet.generate_key().decode()])
    with never_rotated.app_context():
        user = db.session.execute(db.select(User).filter_by(email=user_email)).scalar_one()
        with pytest.raises(InvalidToken):
            check_second_factor(user, code_now(totp_secret))
