"""Bulk tags on the console's contact list: tick contacts, "With selected" → Add tag / Remove tag, see how many,
confirm, and only then does anything change."""
from __future__ import annotations

import re
from html import unescape

from messaging.db import db
from messaging.models import Contact
from messaging.people.contacts import MAX_TAGS
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.records import audit_entries

LIST_URL = "/admin/contacts/?flt0_tag_is=diabetes"


def _contacts(app, *tag_lists) -> list[int]:
    with app.app_context():
        return [make_contact(first_name=f"Pat{i}", tags=tags).id for i, tags in enumerate(tag_lists)]


def _tags(app, ids) -> list[list[str]]:
    with app.app_context():
        return [db.session.get(Contact, i).tags for i in ids]


def test_the_list_offers_the_actions_without_inline_script(app):
    _contacts(app, ["diabetes"])
    page = signed_in_client(app, "staff").get("/admin/contacts/").get_data(as_text=True)
    assert 'data-model-action="add_tag"' in page and 'data-model-action="remove_tag"' in page
    assert 'name="rowid"' in page and 'id="action_form"' in page
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page)  # the console's policy refuses inline handlers
    script = re.search(r'<script[^>]*src="([^"]*/contacts_list\.js)"', page)
    assert script
    js = signed_in_client(app, "staff").get(script.group(1))
    assert js.status_code == 200 and js.mimetype in ("text/javascript", "application/javascript")
    assert "modelActions.execute" in js.get_data(as_text=True)


def test_add_tag_asks_for_the_tag_shows_the_count_confirms_then_applies(app):
    ids = _contacts(app, ["diabetes"], ["diabetes", "vip"], ["diabetes"], ["other"])
    selected = ids[:3]
    staff = signed_in_client(app, "staff")
    step1 = staff.post("/admin/contacts/action/", data={"action": "add_tag", "rowid": selected, "url": LIST_URL})
    assert step1.status_code == 200
    form = unescape(step1.get_data(as_text=True))
    assert "Add a tag to 3 selected contacts" in form and 'name="tag"' in form
    assert form.count('name="rowid"') == 3 and f'value="{LIST_URL}"' in form

    step2 = staff.post("/admin/contacts/tags/", data={"op": "add", "rowid": selected, "tag": "  VIP ",
                                                      "step": "confirm", "url": LIST_URL})
    confirm = unescape(step2.get_data(as_text=True))
    assert step2.status_code == 200 and "please confirm" in confirm
    assert re.search(r"Add the tag <span[^>]*>vip</span> to 3 selected contacts\?", confirm)
    assert _tags(app, ids) == [["diabetes"], ["diabetes", "vip"], ["diabetes"], ["other"]]  # nothing yet

    done = staff.post("/admin/contacts/tags/", data={"op": "add", "rowid": selected, "tag": "vip", "step": "apply",
                                                     "url": LIST_URL})
    assert done.status_code == 302 and done.headers["Location"].endswith(LIST_URL)
    assert _tags(app, ids) == [["diabetes", "vip"], ["diabetes", "vip"], ["diabetes", "vip"], ["other"]]
    listing = unescape(staff.get(LIST_URL).get_data(as_text=True))
    assert "Tag “vip” added to 2 contacts. 1 already had it." in listing
    with app.app_context():
        assert sorted(int(e.target_id) for e in audit_entries("contact.tag_add")) == [ids[0], ids[2]]
        assert {e.detail["tag"] for e in audit_entries("contact.tag_add")} == {"vip"}


def test_remove_tag_matches_case_insensitively_and_leaves_the_rest(app):
    ids = _contacts(app, ["diabetes", "vip"], ["vip"], ["diabetes"])
    staff = signed_in_client(app, "staff")
    step1 = staff.post("/admin/contacts/action/", data={"action": "remove_tag", "rowid": ids, "url": LIST_URL})
    assert "Remove a tag from 3 selected contacts" in unescape(step1.get_data(as_text=True))
    confirm = staff.post("/admin/contacts/tags/", data={"op": "remove", "rowid": ids, "tag": "VIP",
                                                        "step": "confirm"})
    assert re.search(r"Remove the tag <span[^>]*>vip</span> from 3 selected contacts\?",
                     unescape(confirm.get_data(as_text=True)))
    staff.post("/admin/contacts/tags/", data={"op": "remove", "rowid": ids, "tag": "vip", "step": "apply"})
    assert _tags(app, ids) == [["diabetes"], [], ["diabetes"]]
    assert "removed from 2 contacts. 1 did not have it." in unescape(
        staff.get("/admin/contacts/").get_data(as_text=True))
    # The tag index segments search follows (the filter finds no one with the tag any more).
    assert "Pat1" not in staff.get("/admin/contacts/?flt0_tag_is=vip").get_data(as_text=True)


def test_a_bad_tag_is_explained_and_the_selection_and_input_are_kept(app):
    ids = _contacts(app, ["a"], ["b"])
    staff = signed_in_client(app, "staff")
    for typed, reason in (("", "enter a tag"), ("one, two", "without commas"), ("x" * 65, "at most 64 characters")):
        response = staff.post("/admin/contacts/tags/", data={"op": "add", "rowid": ids, "tag": typed,
                                                            "step": "confirm"})
        page = unescape(response.get_data(as_text=True))
        assert response.status_code == 422 and reason in page
        assert page.count('name="rowid"') == 2 and "2 selected contacts" in page
        assert f'value="{typed}"' in page
    # Even a forged "apply" with a bad tag changes nothing.
    staff.post("/admin/contacts/tags/", data={"op": "add", "rowid": ids, "tag": "a,b", "step": "apply"})
    assert _tags(app, ids) == [["a"], ["b"]]


def test_nothing_selected_sends_back_to_the_list_with_a_message(app):
    staff = signed_in_client(app, "staff")
    response = staff.post("/admin/contacts/action/", data={"action": "add_tag", "url": LIST_URL})
    assert response.status_code == 302
    assert "Select at least one contact" in staff.get(LIST_URL).get_data(as_text=True)
    assert staff.post("/admin/contacts/tags/", data={"op": "delete-all", "tag": "x"}).status_code == 400


def test_a_contact_at_the_tag_limit_keeps_its_tags_and_is_counted(app):
    full = [f"t{i}" for i in range(MAX_TAGS)]
    ids = _contacts(app, full, [])
    staff = signed_in_client(app, "staff")
    staff.post("/admin/contacts/tags/", data={"op": "add", "rowid": ids, "tag": "extra", "step": "apply"})
    assert _tags(app, ids) == [sorted(full), ["extra"]]
    assert "1 already hold the most tags allowed" in unescape(staff.get("/admin/contacts/").get_data(as_text=True))


def test_the_return_url_never_leaves_the_contact_list(app):
    ids = _contacts(app, [])
    staff = signed_in_client(app, "staff")
    response = staff.post("/admin/contacts/tags/", data={"op": "add", "rowid": ids, "tag": "x", "step": "apply",
                                                         "url": "https://evil.example/phish"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]
