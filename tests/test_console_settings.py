"""The Settings page: every key in one form, validated and audited by the core, overrides listed."""
from messaging.db import db
from messaging.models import AuditEntry
from messaging.settings import SETTING_SPECS, get_settings, settings_as_dict
from seeds.factories import make_contact, make_template
from tests.support.console import csrf_token_from, signed_in_client
from tests.support.messages import link_path, send


def form_with(app, **changes) -> dict:
    """The form as the page would submit it: every current value, with ``changes`` applied."""
    with app.app_context():
        values = settings_as_dict()
    data = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in values.items()}
    data.update(changes)
    return data


def test_settings_page_has_a_field_for_every_setting(app):
    page = signed_in_client(app, "admin").get("/admin/settings/").get_data(as_text=True)
    for key in SETTING_SPECS:
        assert f'name="{key}"' in page, key


def test_changing_settings_is_audited_with_old_and_new_values(app):
    admin = signed_in_client(app, "admin")
    response = admin.post("/admin/settings/", data=form_with(app, link_ttl_hours="48", org_name="Harbour Clinic",
                                                              require_pin="false"))
    assert response.status_code == 302
    assert "Saved" in admin.get("/admin/settings/").get_data(as_text=True)
    with app.app_context():
        settings = get_settings()
        assert (settings.link_ttl_hours, settings.org_name, settings.require_pin) == (48, "Harbour Clinic", False)
        entries = db.session.execute(db.select(AuditEntry).filter_by(action="settings.change")).scalars().all()
        by_key = {e.detail["key"]: e.detail for e in entries}
        assert set(by_key) == {"link_ttl_hours", "org_name", "require_pin"}  # unchanged keys write nothing
        assert (by_key["link_ttl_hours"]["old"], by_key["link_ttl_hours"]["new"]) == (168, 48)
        assert (by_key["require_pin"]["old"], by_key["require_pin"]["new"]) == (True, False)


def test_a_bad_value_shows_a_clear_message_keeps_the_input_and_changes_nothing(app):
    admin = signed_in_client(app, "admin")
    response = admin.post("/admin/settings/", data=form_with(app, link_ttl_hours="forever", org_name="Renamed",
                                                              quiet_hours="late"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Link lifetime (hours): must be a whole number from 1 to 2160" in page
    assert "Quiet hours: must look like 21:00-08:00" in page
    assert 'value="forever"' in page and 'value="Renamed"' in page and 'value="late"' in page
    assert "nothing was changed" in page
    with app.app_context():
        assert get_settings().org_name != "Renamed"
        assert db.session.execute(db.select(AuditEntry).filter_by(action="settings.change")).first() is None


def test_defaults_list_the_templates_that_override_them(app):
    with app.app_context():
        make_template(name="Always standard note", mode="standard", require_pin="inherit")
        make_template(name="Pinless secure note", mode="inherit", require_pin="false")
        make_template(name="Plain inheriting note", mode="inherit", require_pin="inherit")
    page = signed_in_client(app, "admin").get("/admin/settings/").get_data(as_text=True)
    mode_block = page.split('name="default_mode"')[1].split('name="require_pin"')[0]
    pin_block = page.split('name="require_pin"')[1].split('name="pin_method"')[0]
    assert "Always standard note" in mode_block and "Pinless secure note" not in mode_block
    assert "Lab results" in mode_block  # a seeded secure template
    assert "Pinless secure note" in pin_block and "Always standard note" not in pin_block
    assert "Plain inheriting note" not in page
    assert "/templates/edit/?id=" in mode_block


def test_settings_form_refuses_a_post_without_csrf_token_and_accepts_the_pages_token(csrf_app):
    admin = signed_in_client(csrf_app, "admin")
    data = form_with(csrf_app, org_name="Token Clinic")
    assert admin.post("/admin/settings/", data=data).status_code == 400
    with csrf_app.app_context():
        assert get_settings().org_name != "Token Clinic"
    token = csrf_token_from(admin.get("/admin/settings/").data)
    assert admin.post("/admin/settings/", data={**data, "csrf_token": token}).status_code == 302
    with csrf_app.app_context():
        assert get_settings().org_name == "Token Clinic"


def test_turning_portal_on_and_secure_default_together_in_one_form_is_accepted(ctx):
    from messaging.audit import SYSTEM
    from messaging.db import db
    from messaging.setting_changes import change_settings
    from messaging.settings import get_settings

    change_settings(SYSTEM, {"default_mode": "standard", "portal_enabled": "false"})
    db.session.commit()
    change_settings(SYSTEM, {"default_mode": "secure", "portal_enabled": "true"})
    db.session.commit()
    assert (get_settings().default_mode, get_settings().portal_enabled) == ("secure", True)


def test_the_frequency_cap_is_set_normalised_and_a_bad_one_is_refused_with_the_accepted_form(app):
    admin = signed_in_client(app, "admin")
    assert admin.post("/admin/settings/", data=form_with(app, frequency_cap=" 1/Day, 3/week ")).status_code == 302
    with app.app_context():
        assert get_settings().frequency_cap == "1/day,3/week"
    page = admin.post("/admin/settings/", data=form_with(app, frequency_cap="2 per day")).get_data(as_text=True)
    assert "must look like 1/day,3/week" in page
    with app.app_context():
        assert get_settings().frequency_cap == "1/day,3/week"


def test_client_sets_pin_and_the_office_contact_are_set_on_the_page_and_reach_the_client(app):
    admin = signed_in_client(app, "admin")
    page = admin.get("/admin/settings/").get_data(as_text=True)
    assert "Clients choose their own PIN" in page and "How clients reach the office" in page
    assert admin.post("/admin/settings/", data=form_with(app, client_sets_pin="false",
                                                         office_contact="020 7946 0000")).status_code == 302
    with app.app_context():
        settings = get_settings()
        assert (settings.client_sets_pin, settings.office_contact) == (False, "020 7946 0000")
        message = send(make_contact(first_name="Ivy"), body="Inside", secure=True, require_pin=True)
        assert message.pin_method == "one_time_code"  # staff-only PINs: a code, as before
        path = link_path(message)
    landing = app.test_client().get(path).get_data(as_text=True)
    assert "Contact Sealed demo clinic: 020 7946 0000." in landing
