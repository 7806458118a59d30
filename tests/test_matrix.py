"""The recommendation matrix service: counts, audited edits, and no deleting a situation in use."""
import pytest

from messaging.audit import Actor
from messaging.db import db
from messaging.errors import Conflict, ValidationFailed
from messaging.messages import MessageRequest, send_message
from messaging.models import Situation
from messaging.policy.situations import create_situation, delete_situation, get_situation, list_matrix, update_situation
from seeds.factories import make_contact, make_template
from tests.support.records import audit_entries

ADMIN = Actor("admin@example.com", role="admin")


def test_the_seeded_matrix_reads_in_design_order_with_usage_counts(ctx):
    template = make_template(situation_key="appointment_reminder", mode="standard")
    send_message(MessageRequest(contact=make_contact(), channel="sms", template=template), ADMIN)
    send_message(MessageRequest(contact=make_contact(), channel="sms", body="Hi", secure=False,
                                situation=get_situation("appointment_reminder")), ADMIN)
    db.session.commit()
    rows = list_matrix()
    assert [r.situation.key for r in rows] == ["healthcare", "legal", "financial", "sensitive_appointment",
                                               "confidential_conversation", "appointment_reminder",
                                               "booking_confirmation", "marketing"]
    by_key = {r.situation.key: r for r in rows}
    # The seed adds one appointment-reminder template; the factory a second.
    assert (by_key["appointment_reminder"].templates, by_key["appointment_reminder"].messages) == (2, 2)
    assert (by_key["legal"].templates, by_key["legal"].messages, by_key["legal"].in_use) == (0, 0, False)
    assert by_key["marketing"].situation.recommendation == "standard_opt_in"


def test_admins_add_a_situation_at_the_end_and_it_is_audited(ctx):
    situation = create_situation(ADMIN, {"key": "dental_treatment", "label": "Dental treatment plans",
                                         "recommendation": "secure", "rationale": "Treatment detail is PHI.",
                                         "protected_data": "yes"})
    db.session.commit()
    assert list_matrix()[-1].situation.key == "dental_treatment"
    assert situation.protected_data is True
    [entry] = audit_entries("situation.create")
    assert entry.target_id == "dental_treatment" and entry.detail["recommendation"] == "secure"


@pytest.mark.parametrize("data, field", [
    ({"key": "Bad Key", "label": "x", "recommendation": "secure"}, "key"),
    ({"key": "healthcare", "label": "x", "recommendation": "secure"}, "key"),
    ({"key": "new_one", "label": "", "recommendation": "secure"}, "label"),
    ({"key": "new_one", "label": "x", "recommendation": "encrypted"}, "recommendation"),
    ({"key": "new_one", "label": "x\x00", "recommendation": "secure"}, "label"),
])
def test_bad_situations_are_refused_per_field(ctx, data, field):
    with pytest.raises(ValidationFailed) as caught:
        create_situation(ADMIN, data)
    assert field in caught.value.fields


def test_edits_record_old_and_new_values_and_the_key_never_changes(ctx):
    situation = get_situation("marketing")
    changes = update_situation(ADMIN, situation, {"recommendation": "secure", "rationale": "Changed our mind."})
    db.session.commit()
    assert changes["recommendation"] == ["standard_opt_in", "secure"]
    [entry] = audit_entries("situation.update")
    assert entry.detail["changes"]["recommendation"] == ["standard_opt_in", "secure"]
    assert update_situation(ADMIN, situation, {"recommendation": "secure"}) == {}
    assert len(audit_entries("situation.update")) == 1  # no change, no entry
    with pytest.raises(ValidationFailed) as caught:
        update_situation(ADMIN, situation, {"key": "promo"})
    assert "cannot change" in caught.value.fields["key"]


def test_a_situation_in_use_cannot_be_deleted_and_an_unused_one_can(ctx):
    with pytest.raises(Conflict) as by_template:
        delete_situation(ADMIN, get_situation("healthcare"))  # the seeded lab-results template uses it
    assert by_template.value.code == "situation_in_use"
    assert "1 template" in by_template.value.message
    send_message(MessageRequest(contact=make_contact(), channel="sms", body="Hi", secure=True,
                                situation=get_situation("legal")), ADMIN)
    db.session.commit()
    with pytest.raises(Conflict) as by_message:
        delete_situation(ADMIN, get_situation("legal"))
    assert "1 message" in by_message.value.message
    delete_situation(ADMIN, get_situation("sensitive_appointment"))
    db.session.commit()
    assert db.session.execute(db.select(Situation).filter_by(key="sensitive_appointment")).first() is None
    [entry] = audit_entries("situation.delete")
    assert entry.target_id == "sensitive_appointment"
