"""The content check: what looks like protected data hits; appointment times, phones and prices do not."""
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messaging.audit import Actor
from messaging.db import db
from messaging.errors import PolicyRefused
from messaging.messages import MessageRequest, preview_message, send_message
from messaging.models import AuditEntry
from messaging.policy.content_check import (
    DEFAULT_SENSITIVE_TERMS,
    check_standard_content,
    find_protected_data,
    luhn_valid,
    parse_terms,
    protected_content_warning,
)
from messaging.policy.decision import LevelChoice, decide
from messaging.settings import get_settings
from seeds.factories import make_contact, make_template

TODAY = date(2026, 3, 1)


def kinds(text, **kwargs):
    return [f.kind for f in find_protected_data(text, today=TODAY, **kwargs)]


@pytest.mark.parametrize("text", [
    "DOB 04/12/1987",
    "Patient DOB: 4/12/87, please confirm.",
    "D.O.B. 12.04.1987",
    "born 1987-04-12",
    "Born on 12 April 1987 in Leeds",
    "date of birth: 12 April 1987",
    "Date of birth is April 12, 1987",
    "birthdate 12th of April, 1987",
    "We have 03/07/1979 on file for you",  # a bare full date decades ago is a date of birth too
])
def test_dates_of_birth_hit(text):
    assert kinds(text) == ["date_of_birth"]


@pytest.mark.parametrize("text, kind", [
    ("Card 4111 1111 1111 1111 was declined", "card_number"),
    ("card ending 4111-1111-1111-1111", "card_number"),
    ("Your Amex 378282246310005 expires soon", "card_number"),
    ("account 12345678", "account_number"),
    ("Acct no. 12-345-678 is now open", "account_number"),
    ("Please pay into account number: 0012 3456 78", "account_number"),
    ("routing number 021000021", "account_number"),
    ("IBAN GB82 WEST 1234 5698 7654 32", "iban"),
    ("Transfer to DE89370400440532013000 today", "iban"),
    ("SSN 123-45-6789 on file", "ssn"),
    ("your balance of $1,240.50 is overdue", "balance"),
    ("You owe £300.", "balance"),
    ("amount due: 85.00", "balance"),
    ("Outstanding: EUR 1200", "balance"),
    ("You still owe us 45 dollars", "balance"),
])
def test_numbers_and_balances_hit(text, kind):
    assert kinds(text) == [kind]


@pytest.mark.parametrize("text, term", [
    ("Your lab results are in", "lab result"),
    ("We discussed your diagnosis", "diagnosis"),
    ("HIV test booked", "HIV"),
    ("Pregnancy scan at 10:00", "pregnancy"),
    ("Your BIOPSY came back", "biopsy"),
])
def test_words_from_the_default_list_hit_and_are_named(text, term):
    [finding] = find_protected_data(text, today=TODAY)
    assert finding.kind == "term" and finding.label == f"the word '{term}'"


@pytest.mark.parametrize("text", [
    "Your appointment is on 12/04 at 3:30pm",
    "See you on 2026-12-01 at 10:00",
    "Reminder: Tuesday 14 April 2026 at 9.15am with Dr Lee",
    "Your appointment is on 12/04/2026 at 10.30",
    "Appointment on March 3, 2027 at 14:00",
    "Call us on +44 20 7946 0958 or 0207 946 0958",
    "Call +1 415 555 0123 to reschedule",
    "Our number is (415) 555-0123",
    "Text 4155550123 to confirm",
    "$20 parking is available behind the clinic",
    "Parking costs £5",
    "The visit takes 45 minutes, starting at 10.30",
    "Log in to your account at example.com to see your appointments",
    "Booking reference 2026-0412-77",
    "Your appointment is due at 10.30 on 12/04",
    "Hearing aids clinic on Monday",
    "Sorting out your booking, see you soon",
])
def test_near_misses_do_not_hit(text):
    assert find_protected_data(text, today=TODAY) == []


def test_luhn_tells_card_numbers_from_random_digits():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert kinds("Reference 4111 1111 1111 1112") == []


def test_the_term_list_is_configurable():
    assert kinds("Custody hearing on Monday", terms="custody") == ["term"]
    assert kinds("Your lab results are in", terms="custody") == []
    assert kinds("Your lab results are in", terms="") == []  # an empty list checks no words
    assert kinds("Nothing about osteoporosis", terms="osteoporosis, gout\nbone density") == ["term"]


def test_parse_terms_splits_trims_and_deduplicates():
    assert parse_terms(" HIV, hiv\n lab   result,,\n") == ["HIV", "lab result"]
    assert "biopsy" in parse_terms(DEFAULT_SENSITIVE_TERMS)


def test_warning_names_what_was_found_but_not_the_data():
    warning = protected_content_warning(find_protected_data(
        "DOB 04/12/1987, card 4111 1111 1111 1111, your biopsy", today=TODAY))
    assert warning.code == "protected_content"
    assert "a date of birth" in warning.message and "a card number" in warning.message
    assert "the word 'biopsy'" in warning.message
    assert "1987" not in warning.message and "4111" not in warning.message
    assert protected_content_warning([]) is None


def test_check_applies_only_to_standard_messages_and_blocks_under_block():
    standard = decide(default=LevelChoice("standard", False))
    secure = decide(default=LevelChoice("secure", False))
    texts = ["Results", "Your biopsy is clear"]
    assert check_standard_content(secure, texts, None, "block") is secure
    warned = check_standard_content(standard, texts, None, "warn")
    assert [w.code for w in warned.warnings] == ["protected_content"] and not warned.blocked
    blocked = check_standard_content(standard, texts, None, "block")
    assert blocked.blocked_by == ("protected_content",)
    clean = check_standard_content(standard, ["See you at 10:00"], None, "block")
    assert clean is standard


# --- property tests: whatever an appointment reminder says about time, it never hits -----------

_DATE_FORMATS = ["%d/%m", "%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%A %d %B",
                 "%a %d %b %Y", "%d.%m.%Y", "%d-%m-%Y", "%A, %B %d"]
_TIME_FORMATS = ["%H:%M", "%I:%M%p", "%I:%M %p", "%I.%M%p", "%I%p", "%H.%M", "%H:%M hrs"]


@settings(max_examples=300, deadline=None)
@given(when=st.datetimes(min_value=datetime(2025, 3, 1), max_value=datetime(2029, 12, 31)),
       date_format=st.sampled_from(_DATE_FORMATS), time_format=st.sampled_from(_TIME_FORMATS),
       wording=st.sampled_from(["Your appointment is on {d} at {t}.", "See you {d} at {t}",
                                "Reminder: {d}, {t}, Main St clinic", "Booked: {t} on {d}. Reply C to cancel.",
                                "Dana, your visit with {org} is {d} at {t}. Parking $5."]))
def test_random_appointment_times_never_hit(when, date_format, time_format, wording):
    text = wording.format(d=when.strftime(date_format), t=when.strftime(time_format), org="Clinic")
    assert find_protected_data(text, today=TODAY) == [], text


@settings(max_examples=300, deadline=None)
@given(digits=st.text(alphabet="0123456789", min_size=10, max_size=10),
       style=st.sampled_from(["({a}) {b}-{c}", "{a}-{b}-{c}", "{a}.{b}.{c}", "0{a} {b} {c}", "{a}{b}{c}"]))
def test_random_national_phone_numbers_never_hit(digits, style):
    text = "Call us on " + style.format(a=digits[:3], b=digits[3:6], c=digits[6:]) + " to rebook."
    assert find_protected_data(text, today=TODAY) == [], text


@settings(max_examples=300, deadline=None)
@given(country=st.sampled_from(["1", "44", "49", "353", "61"]),
       digits=st.text(alphabet="0123456789", min_size=8, max_size=15 - 1),
       spaced=st.booleans())
def test_random_international_phone_numbers_never_hit(country, digits, spaced):
    # E.164 allows up to 15 digits in all, long enough to look like a card number without the '+'.
    digits = digits[:15 - len(country)]
    number = " ".join(digits[i:i + 3] for i in range(0, len(digits), 3)) if spaced else digits
    text = f"Call +{country} {number} to rebook."
    assert find_protected_data(text, today=TODAY) == [], text


@settings(max_examples=200, deadline=None)
@given(born=st.dates(min_value=date(1920, 1, 1), max_value=TODAY - timedelta(days=365)),
       date_format=st.sampled_from(["%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%d.%m.%Y"]),
       cue=st.sampled_from(["DOB", "DOB:", "D.O.B.", "born", "Born on", "date of birth:", "Date of birth is"]))
def test_any_date_after_a_birth_cue_hits(born, date_format, cue):
    text = f"Please confirm your {cue} {born.strftime(date_format)}."
    assert "date_of_birth" in kinds(text), text


# --- through messages.py: preview and send -------------------------------------------------------

STAFF = Actor("staff@example.com", role="staff")
ADMIN = Actor("admin@example.com", role="admin")


def _standard(contact, body, **kwargs):
    return MessageRequest(contact=contact, channel="sms", body=body, secure=False, **kwargs)


def test_standard_message_with_a_date_of_birth_warns_and_still_sends_under_warn(ctx):
    contact = make_contact()
    preview = preview_message(_standard(contact, "Hi, we have your DOB as 04/12/1987."))
    assert [w.code for w in preview.decision.warnings] == ["protected_content"]
    assert "a date of birth" in preview.decision.warnings[0].message
    message = send_message(_standard(contact, "Hi, we have your DOB as 04/12/1987."), STAFF)
    db.session.commit()
    assert message.status == "queued"
    assert [w["code"] for w in message.warnings] == ["protected_content"]


def test_under_block_staff_are_refused_and_an_admin_overrides_with_an_audited_reason(ctx):
    get_settings().enforce_recommendations = "block"
    contact = make_contact()
    text = "Your balance of $1,240.50 is overdue."
    with pytest.raises(PolicyRefused) as refused:
        send_message(_standard(contact, text), STAFF)
    assert "a money amount tied to a balance" in refused.value.message
    with pytest.raises(PolicyRefused) as no_reason:
        send_message(_standard(contact, text), ADMIN)
    assert "override_reason" in no_reason.value.fields
    message = send_message(_standard(contact, text, override_reason="Client asked for it by SMS"), ADMIN)
    db.session.commit()
    assert message.override_reason == "Client asked for it by SMS"
    entry = db.session.execute(db.select(AuditEntry).filter_by(action="message.policy_override")).scalar_one()
    assert entry.detail["blocked_by"] == ["protected_content"]
    assert entry.detail["reason"] == "Client asked for it by SMS"


def test_the_same_text_sent_secure_is_not_checked(ctx):
    get_settings().enforce_recommendations = "block"
    contact = make_contact(pin="2468")
    message = send_message(MessageRequest(contact=contact, channel="sms", body="DOB 04/12/1987", secure=True),
                           STAFF)
    assert message.mode == "secure" and message.warnings == []


def test_a_template_rendered_with_form_data_is_checked(ctx):
    contact = make_contact(form_data={"account_no": "12345678"})
    template = make_template(body="Hi {{ first_name }}, payment received for account {{ account_no }}.",
                             mode="standard")
    preview = preview_message(MessageRequest(contact=contact, channel="sms", template=template))
    assert "an account number" in preview.decision.warnings[0].message


def test_the_settings_word_list_drives_the_check(ctx):
    contact = make_contact()
    assert not preview_message(_standard(contact, "About your osteoporosis scan")).decision.warnings
    get_settings().sensitive_terms = "gout, osteoporosis"
    assert preview_message(_standard(contact, "About your osteoporosis scan")).decision.warnings
    get_settings().sensitive_terms = ""
    assert not preview_message(_standard(contact, "About your biopsy")).decision.warnings


def test_an_appointment_reminder_goes_standard_without_a_warning(ctx):
    contact = make_contact()
    preview = preview_message(_standard(contact, "Your appointment is on 12/04 at 3:30pm. $20 parking."))
    assert preview.decision.warnings == ()
