"""`contacts export ID`: everything about a contact as JSON — profile, consent ledger, messages decrypted, files'
names, events, sessions — audited as `contact.export`; after erasure the same export shows nothing personal."""
from __future__ import annotations

import json

import pytest

from messaging.audit import Actor
from messaging.db import db
from messaging.errors import Conflict
from messaging.models import AuditEntry
from messaging.privacy import export_contact
from tests.support.raw_scan import (
    CLIENT_FILE,
    EMAIL,
    FIRST,
    FORM_VALUE,
    LAST,
    NEEDLES,
    NOTE,
    PHONE,
    REPLY_BODY,
    SCHEDULED_BODY,
    SECURE_BODY,
    STAFF_FILE,
    STANDARD_BODY,
    STANDARD_SUBJECT,
    TAG,
    distinctive_contact,
    found_in,
)


def _export(runner, contact_id: int) -> dict:
    result = runner.invoke(args=["contacts", "export", str(contact_id)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _by_body(document: dict) -> dict:
    return {m["body"]: m for m in document["messages"]}


def test_the_export_holds_the_profile_consent_messages_files_events_and_sessions(app, runner):
    with app.app_context():
        scene = distinctive_contact()
    document = _export(runner, scene.contact_id)

    profile = document["contact"]
    assert (profile["id"], profile["first_name"], profile["last_name"]) == (scene.contact_id, FIRST, LAST)
    assert (profile["phone"], profile["email"], profile["date_of_birth"]) == (PHONE, EMAIL, "1980-04-02")
    assert profile["tags"] == [TAG] and profile["form_data"] == {"member": FORM_VALUE}
    assert profile["erased_at"] is None

    assert [(e["channel"], e["purpose"], e["granted"], e["note"]) for e in document["consent"]] \
        == [("sms", "marketing", True, NOTE)]

    messages = _by_body(document)
    assert {SECURE_BODY, STANDARD_BODY, REPLY_BODY, SCHEDULED_BODY} <= set(messages)
    secure, reply, standard = messages[SECURE_BODY], messages[REPLY_BODY], messages[STANDARD_BODY]
    assert standard["subject"] == STANDARD_SUBJECT and standard["mode"] == "standard"
    assert reply["direction"] == "in" and reply["reply_to"] == secure["id"]
    assert [a["filename"] for a in secure["attachments"]] == [STAFF_FILE]
    assert [a["filename"] for a in reply["attachments"]] == [CLIENT_FILE]
    assert all(set(a) >= {"media_type", "size_bytes"} and "ciphertext" not in a and "data" not in a
               for a in secure["attachments"] + reply["attachments"])
    kinds = [e["kind"] for e in secure["events"]]
    assert {"queued", "sent", "code_sent", "failed", "replied"} <= set(kinds)
    assert {d["kind"] for d in secure["deliveries"]} == {"notice", "code"}
    assert secure["content_destroyed"] is None
    assert len(document["viewer_sessions"]) == 1 and document["viewer_sessions"][0]["ended_at"] is None

    with app.app_context():
        entries = db.session.scalars(db.select(AuditEntry).filter_by(action="contact.export")).all()
        assert [(e.target_type, e.target_id, e.actor) for e in entries] == [("contact", str(scene.contact_id),
                                                                               "system")]
        assert found_in(json.dumps(entries[0].detail).lower().encode(), NEEDLES) == []


def test_after_erasure_the_export_shows_the_contact_erased_and_the_content_destroyed(app, runner):
    with app.app_context():
        scene = distinctive_contact()
    assert runner.invoke(args=["contacts", "erase", str(scene.contact_id), "--yes"]).exit_code == 0
    document = _export(runner, scene.contact_id)
    assert document["contact"]["first_name"] == "Erased" and document["contact"]["erased_at"]
    assert document["contact"]["phone"] is None and document["contact"]["email"] is None
    assert all(m["body"] is None and m["content_destroyed"]["reason"] == "erasure" for m in document["messages"])
    assert found_in(json.dumps(document).lower().encode()) == []
    assert {m["status"] for m in document["messages"] if m["send_at"]} == {"cancelled"}


def test_a_missing_contact_and_a_staff_actor_are_refused(app, runner):
    result = runner.invoke(args=["contacts", "export", "424242"])
    assert result.exit_code != 0 and "424242" in result.output
    with app.app_context():
        scene = distinctive_contact()
        with pytest.raises(Conflict, match="Only an admin"):
            export_contact(Actor(label="staff@example.com", role="staff"), scene.contact_id)
