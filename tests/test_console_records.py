"""Contacts, messages, users, API keys and the audit log in the console, through the test client."""
from datetime import timedelta

from messaging.audit import SYSTEM
from messaging.clock import utcnow
from messaging.db import db
from messaging.messages import MessageRequest, send_message
from messaging.models import ApiKey, Contact, Message, User
from messaging.people.consent import consent_history, has_consent
from messaging.people.users import find_api_key
from messaging.policy.optout import mark_opted_out
from seeds.factories import make_contact
from tests.support.console import csrf_token_from, sign_in, signed_in_client
from tests.support.records import audit_entries

# --- Contacts ---

def test_contact_search_finds_by_name_phone_and_email(app):
    with app.app_context():
        make_contact(first_name="Wilhelmina", last_name="Quarry", phone="+14155550111", email="wq@example.com")
        make_contact(first_name="Bartholomew", last_name="Stone", phone="+14155550122", email="bs@example.org")
    staff = signed_in_client(app, "staff")
    by_name = staff.get("/admin/contacts/?search=wilhelmina").get_data(as_text=True)
    assert "Quarry" in by_name and "Bartholomew" not in by_name
    # A phone number typed the way people write it finds the stored E.164 number.
    by_phone = staff.get("/admin/contacts/?search=(415) 555-0122").get_data(as_text=True)
    assert "Bartholomew" in by_phone and "Wilhelmina" not in by_phone
    by_email = staff.get("/admin/contacts/?search=example.org").get_data(as_text=True)
    assert "Bartholomew" in by_email and "Wilhelmina" not in by_email
    nothing = staff.get("/admin/contacts/?search=zzzzzz").get_data(as_text=True)
    assert "No contact matches" in nothing


def test_contact_tag_filter_lists_only_tagged_contacts(app):
    with app.app_context():
        make_contact(first_name="Tagged", last_name="Person", tags=["vip", "new-patient"])
        make_contact(first_name="Untagged", last_name="Person", tags=["vipish"])
    staff = signed_in_client(app, "staff")
    page = staff.get("/admin/contacts/?flt0_tag_is=VIP").get_data(as_text=True)
    assert "Tagged" in page and "Untagged" not in page
    # Each tag in the list links to the same filter.
    assert "flt0_tag_is=vip" in staff.get("/admin/contacts/").get_data(as_text=True)


def test_contact_list_shows_consent_opt_out_and_pin_state_but_never_the_hash(app):
    with app.app_context():
        contact = make_contact(first_name="Olive", last_name="Optout", pin="4731")
        mark_opted_out(contact, source="keyword")
        db.session.commit()
        pin_hash, contact_id = contact.pin_hash, contact.id
    staff = signed_in_client(app, "staff")
    listing = staff.get("/admin/contacts/").get_data(as_text=True)
    details = staff.get(f"/admin/contacts/details/?id={contact_id}").get_data(as_text=True)
    for page in (listing, details):
        assert "SMS consent" in page and "Marketing consent" in page
        assert "opted out" in page
        assert pin_hash not in page and "$argon2" not in page
        assert f'href="/admin/conversations/{contact_id}"' in page
    assert "pin_hash" not in staff.get(f"/admin/contacts/edit/?id={contact_id}").get_data(as_text=True)
    assert staff.get(f"/admin/conversations/{contact_id}").status_code == 200  # the link leads somewhere


def test_creating_a_contact_normalises_phone_and_email(app):
    staff = signed_in_client(app, "staff")
    response = staff.post("/admin/contacts/new/", data={
        "first_name": "Nora", "last_name": "New", "phone": "(415) 555-0188", "email": "Nora@Example.COM",
        "tags": "VIP, follow-up", "sms_consent": "y"})
    assert response.status_code == 302
    with app.app_context():
        contact = db.session.execute(db.select(Contact).filter_by(first_name="Nora")).scalar_one()
        assert contact.phone == "+14155550188"
        assert contact.email == "Nora@example.com"
        assert contact.tags == ["follow-up", "vip"] and has_consent(contact, "sms", "transactional")
        assert consent_history(contact) == []  # granted is the default: checking the box writes no row
        assert audit_entries("contact.create")


def test_invalid_phone_shows_a_clear_error_and_keeps_what_was_typed(app):
    staff = signed_in_client(app, "staff")
    response = staff.post("/admin/contacts/new/", data={
        "first_name": "Ingrid", "last_name": "Input", "phone": "12", "email": "not-an-email",
        "tags": "alpha, beta"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "not a phone number" in page or "not a valid phone number" in page
    assert "email address" in page.lower()  # email-validator says what is wrong with it
    for typed in ('value="Ingrid"', 'value="Input"', 'value="12"', 'value="not-an-email"', 'value="alpha, beta"'):
        assert typed in page
    with app.app_context():
        assert db.session.execute(db.select(Contact).filter_by(first_name="Ingrid")).scalar_one_or_none() is None


def test_editing_a_contact_with_a_bad_phone_changes_nothing(app):
    with app.app_context():
        contact_id = make_contact(first_name="Edith", phone="+14155550199").id
    staff = signed_in_client(app, "staff")
    bad = staff.post(f"/admin/contacts/edit/?id={contact_id}", data={
        "first_name": "Edith", "last_name": "Changed", "phone": "555", "email": ""})
    assert bad.status_code == 200 and 'value="555"' in bad.get_data(as_text=True)
    good = staff.post(f"/admin/contacts/edit/?id={contact_id}", data={
        "first_name": "Edith", "last_name": "Changed", "phone": "415 555 0177", "email": "",
        "sms_consent": "y"})
    assert good.status_code == 302
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact.last_name == "Changed" and contact.phone == "+14155550177" and contact.email is None
        assert audit_entries("contact.update")[0].detail["fields"] == ["email", "last_name", "phone"]


def test_set_pin_stores_an_argon2_hash_is_audited_and_is_never_shown(app):
    with app.app_context():
        contact_id = make_contact(first_name="Pia").id
    staff = signed_in_client(app, "staff")
    form = staff.get(f"/admin/contacts/pin/?id={contact_id}").get_data(as_text=True)
    assert "No PIN is set" in form
    bad = staff.post(f"/admin/contacts/pin/?id={contact_id}", data={"pin": "12ab"})
    assert bad.status_code == 422 and "4 to 8 digits" in bad.get_data(as_text=True)
    ok = staff.post(f"/admin/contacts/pin/?id={contact_id}", data={"pin": "048213"}, follow_redirects=True)
    page = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "A PIN is now set" in page and "048213" not in page
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact.pin_hash.startswith("$argon2")
        entry = audit_entries("contact.pin_set")[0]
        assert entry.target_id == str(contact_id) and "048213" not in str(entry.detail)
    assert "PIN set by staff on" in staff.get(f"/admin/contacts/pin/?id={contact_id}").get_data(as_text=True)
    # Removing it asks first.
    assert "Remove the PIN" in staff.get(f"/admin/contacts/pin/clear/?id={contact_id}").get_data(as_text=True)
    staff.post(f"/admin/contacts/pin/clear/?id={contact_id}")
    with app.app_context():
        assert db.session.get(Contact, contact_id).pin_hash is None
        assert audit_entries("contact.pin_cleared")


# --- Messages ---

SECRET_WORDS = ("Xylophonic", "Quetzalcoatl")


def _send_two_messages(app):
    """A secure and a standard message whose subject/body hold words that must never reach a list."""
    with app.app_context():
        contact = make_contact(first_name="Mara", email="mara@example.com")
        secure = send_message(MessageRequest(contact=contact, channel="email", subject=f"{SECRET_WORDS[0]} subject",
                                             body=f"Your {SECRET_WORDS[0]} result", secure=True), SYSTEM)
        standard = send_message(MessageRequest(contact=contact, channel="sms", secure=False,
                                               body=f"See you at {SECRET_WORDS[1]} clinic"), SYSTEM)
        db.session.commit()
        return secure.id, standard.id


def test_message_list_and_details_never_show_content(app):
    secure_id, standard_id = _send_two_messages(app)
    staff = signed_in_client(app, "staff")
    pages = [staff.get("/admin/messages/"), staff.get(f"/admin/messages/details/?id={secure_id}"),
             staff.get(f"/admin/messages/details/?id={standard_id}"), staff.get("/admin/scheduled/")]
    for response in pages:
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        for word in SECRET_WORDS:
            assert word not in html
    listing = pages[0].get_data(as_text=True)
    assert "secure — set by this message" in listing and "standard — set by this message" in listing
    details = pages[1].get_data(as_text=True)
    assert "queued" in details and "Open content" in details
    with app.app_context():
        assert not audit_entries("message.content_opened")


def test_message_list_shows_the_template_decision_lock_and_unread_flag(app):
    with app.app_context():
        from seeds.factories import make_template

        template = make_template(name="Lab results follow-up", situation_key="healthcare", mode="secure",
                                 body="Hello {{ first_name }}")
        contact = make_contact(first_name="Lars")
        message = send_message(MessageRequest(contact=contact, channel="sms", template=template), SYSTEM)
        message.locked_until = utcnow() + timedelta(minutes=10)
        message.unread_flagged_at = utcnow()
        old = send_message(MessageRequest(contact=contact, channel="sms", body="hi", secure=True), SYSTEM)
        old.locked_until = utcnow() - timedelta(minutes=1)  # a lock that has ended shows nothing
        db.session.commit()
    listing = signed_in_client(app, "staff").get("/admin/messages/").get_data(as_text=True)
    assert "secure — set by template &#39;Lab results follow-up&#39;" in listing
    assert listing.count("locked until") == 1
    assert ">unread<" in listing


def test_message_filters_by_status_mode_and_channel(app):
    _send_two_messages(app)
    staff = signed_in_client(app, "staff")
    secure_only = staff.get("/admin/messages/?flt0_mode_equals=secure").get_data(as_text=True)
    assert "secure — set by" in secure_only and "standard — set by" not in secure_only
    sms_only = staff.get("/admin/messages/?flt0_channel_equals=sms").get_data(as_text=True)
    assert "standard — set by" in sms_only and "secure — set by" not in sms_only
    none = staff.get("/admin/messages/?flt0_status_equals=failed").get_data(as_text=True)
    assert "No message matches" in none
    assert staff.get("/admin/messages/?search=mara").get_data(as_text=True).count("— set by") == 2
    assert "No message matches" in staff.get("/admin/messages/?search=nobody").get_data(as_text=True)


def test_message_list_is_paginated(app):
    with app.app_context():
        contact = make_contact(first_name="Paige")
        for n in range(30):
            send_message(MessageRequest(contact=contact, channel="sms", body=f"n{n}", secure=False), SYSTEM)
        db.session.commit()
    staff = signed_in_client(app, "staff")
    first = staff.get("/admin/messages/").get_data(as_text=True)
    second = staff.get("/admin/messages/?page=1").get_data(as_text=True)
    assert first.count("standard — set by") == 25 and second.count("standard — set by") == 5
    assert "pagination" in first


def test_opening_content_is_a_post_that_is_audited_and_shows_the_body(app):
    secure_id, _ = _send_two_messages(app)
    staff = signed_in_client(app, "staff")
    assert staff.get(f"/admin/messages/content/?id={secure_id}").status_code == 405
    response = staff.post(f"/admin/messages/content/?id={secure_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"Your {SECRET_WORDS[0]} result" in html and f"{SECRET_WORDS[0]} subject" in html
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        [entry] = audit_entries("message.content_opened")
        message = db.session.get(Message, secure_id)
        assert entry.target_id == message.public_id and entry.actor.startswith("staff-")


# --- Users ---

def test_admin_creates_a_user_with_a_long_enough_password(app):
    admin = signed_in_client(app, "admin")
    short = admin.post("/admin/users/new/", data={"email": "new@example.com", "role": "staff",
                                                  "password": "short"})
    page = short.get_data(as_text=True)
    assert "at least 12 characters" in page and 'value="new@example.com"' in page
    ok = admin.post("/admin/users/new/", data={"email": "new@example.com", "role": "staff",
                                               "password": "a long enough password"})
    assert ok.status_code == 302
    listing = admin.get("/admin/users/").get_data(as_text=True)
    assert "new@example.com" in listing and "$argon2" not in listing
    assert signed_in_client(app, "staff").post("/admin/users/new/", data={
        "email": "sneaky@example.com", "role": "admin", "password": "a long enough password"}).status_code == 403
    with app.app_context():
        assert db.session.execute(db.select(User).filter_by(email="sneaky@example.com")).scalar_one_or_none() is None


def test_deactivate_asks_first_signs_the_user_out_and_reactivate_restores(app):
    admin = signed_in_client(app, "admin")
    victim = signed_in_client(app, "staff", email="victim@example.com")
    with app.app_context():
        user_id = db.session.execute(db.select(User).filter_by(email="victim@example.com")).scalar_one().id
    confirm = admin.get(f"/admin/users/deactivate/?id={user_id}").get_data(as_text=True)
    assert "Deactivate victim@example.com?" in confirm
    assert admin.post(f"/admin/users/deactivate/?id={user_id}").status_code == 302
    assert victim.get("/admin/contacts/").status_code == 302  # signed out on the next request
    assert sign_in(app, "victim@example.com", client=victim)[1].status_code == 401
    admin.post(f"/admin/users/reactivate/?id={user_id}")
    assert sign_in(app, "victim@example.com", client=victim)[1].status_code == 302
    with app.app_context():
        assert audit_entries("user.deactivate") and audit_entries("user.reactivate")


def test_an_admin_cannot_deactivate_themselves(app):
    admin = signed_in_client(app, "admin", email="me@example.com")
    with app.app_context():
        my_id = db.session.execute(db.select(User).filter_by(email="me@example.com")).scalar_one().id
    page = admin.post(f"/admin/users/deactivate/?id={my_id}", follow_redirects=True).get_data(as_text=True)
    assert "cannot deactivate your own account" in page
    with app.app_context():
        assert db.session.get(User, my_id).active is True


# --- API keys ---

def test_api_key_is_shown_once_and_revoking_asks_first(app):
    admin = signed_in_client(app, "admin")
    created = admin.post("/admin/api-keys/new/", data={"name": "Booking system", "role": "staff"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "shown only this once" in html
    assert created.headers["Cache-Control"] == "no-store"
    plain = html.split('readonly value="')[1].split('"')[0]
    assert plain.startswith("sk_")
    listing = admin.get("/admin/api-keys/").get_data(as_text=True)
    assert "Booking system" in listing and plain not in listing and plain[:10] in listing
    with app.app_context():
        key_id = db.session.execute(db.select(ApiKey).filter_by(name="Booking system")).scalar_one().id
        assert find_api_key(plain) is not None
    assert "Revoke the key" in admin.get(f"/admin/api-keys/revoke/?id={key_id}").get_data(as_text=True)
    admin.post(f"/admin/api-keys/revoke/?id={key_id}")
    with app.app_context():
        assert find_api_key(plain) is None
        assert audit_entries("api_key.create") and audit_entries("api_key.revoke")
    assert "revoked" in admin.get("/admin/api-keys/").get_data(as_text=True)


def test_api_key_without_a_name_is_refused_with_a_message(app):
    admin = signed_in_client(app, "admin")
    response = admin.post("/admin/api-keys/new/", data={"name": " ", "role": "staff"})
    assert response.status_code == 422 and "is required" in response.get_data(as_text=True)


# --- Audit log ---

def test_audit_log_is_newest_first_filterable_and_paginated(app):
    with app.app_context():
        from messaging.audit import audit

        for n in range(60):
            audit(SYSTEM, "test.older" if n < 59 else "test.newest", "thing", n)
        db.session.commit()
    admin = signed_in_client(app, "admin")
    first = admin.get("/admin/audit/").get_data(as_text=True)
    assert first.index("test.newest") < first.index("test.older")
    assert "pagination" in first
    filtered = admin.get("/admin/audit/?flt0_action_equals=test.newest").get_data(as_text=True)
    assert "test.newest" in filtered and ">test.older<" not in filtered


def test_flask_admin_forms_and_buttons_carry_the_csrf_token(csrf_app):
    staff = signed_in_client(csrf_app, "staff")
    fields = {"first_name": "Cora", "last_name": "Csrf", "phone": "+14155550166"}
    assert staff.post("/admin/contacts/new/", data=fields).status_code == 400
    token = csrf_token_from(staff.get("/admin/contacts/new/").data)
    assert staff.post("/admin/contacts/new/", data={**fields, "csrf_token": token}).status_code == 302
    secure_id, _ = _send_two_messages(csrf_app)
    assert staff.post(f"/admin/messages/content/?id={secure_id}").status_code == 400
    token = csrf_token_from(staff.get(f"/admin/messages/details/?id={secure_id}").data)
    opened = staff.post(f"/admin/messages/content/?id={secure_id}", data={"csrf_token": token})
    assert opened.status_code == 200 and SECRET_WORDS[0] in opened.get_data(as_text=True)
    with csrf_app.app_context():
        assert len(audit_entries("message.content_opened")) == 1
