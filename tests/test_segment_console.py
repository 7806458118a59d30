"""The console's segment pages, as staff meet them through the test client: list, builder, live count, edit, delete."""
from __future__ import annotations

import re
from html import unescape

from flask import render_template

from messaging.audience.segments import create_segment, segments_of_contact
from messaging.audit import SYSTEM
from messaging.db import db
from messaging.models import AuditEntry, Contact, Segment
from seeds.factories import make_contact
from tests.support.console import csrf_token_from, signed_in_client

BUILDER = "/admin/segments/new"


def people(app) -> list[int]:
    with app.app_context():
        return [make_contact(first_name="Ada", tags=["diabetic"], form_data={"visits": "7", "plan": "Gold"}).id,
                make_contact(first_name="Bo", tags=["Diabetic", "vip"], form_data={"visits": 2}).id,
                make_contact(first_name="Cy", tags=["vip"], form_data={"visits": 9}).id]


def text_of(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def row_error(response, prefix: str) -> str:
    match = re.search(rf'data-row-error="{prefix}"[^>]*>([^<]*)<', response.get_data(as_text=True))
    assert match, f"no error slot for {prefix}"
    return unescape(match.group(1))


TWO_CONDITIONS = {"name": "Diabetic, visited often", "match": "all",
                  "conditions-0-kind": "tag", "conditions-0-tag": "DIABETIC",
                  "conditions-1-kind": "field", "conditions-1-field": "visits", "conditions-1-op": "gt",
                  "conditions-1-value": "5"}


def test_the_list_starts_empty_and_then_shows_each_segment_with_its_count(app):
    people(app)
    client = signed_in_client(app, "staff")
    empty = client.get("/admin/segments/")
    assert empty.status_code == 200
    assert "No segments yet" in text_of(empty) and 'href="/admin/segments/new"' in empty.get_data(as_text=True)
    with app.app_context():
        create_segment(SYSTEM, "VIPs", {"match": "all", "conditions": [{"tag": "vip"}]})
        db.session.commit()
    page = client.get("/admin/segments/")
    html = page.get_data(as_text=True)
    assert "No segments yet" not in html
    assert re.search(r'<td class="text-right" data-count="2">2</td>', html)
    assert "has tag vip" in text_of(page)


def test_the_builder_offers_known_tags_and_field_names_and_no_json(app):
    people(app)
    page = signed_in_client(app, "staff").get(BUILDER)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for name in ("name", "match", "conditions-0-kind", "conditions-0-tag", "conditions-0-field", "conditions-0-op",
                 "conditions-0-value", "conditions-0-consent", "conditions-0-opted_out"):
        assert f'name="{name}"' in html, name
    tags = re.search(r'<datalist id="known-tags">(.*?)</datalist>', html).group(1)
    assert re.findall(r'value="([^"]+)"', tags) == ["diabetic", "vip"]
    fields = re.search(r'<datalist id="known-fields">(.*?)</datalist>', html).group(1)
    assert re.findall(r'value="([^"]+)"', fields) == ["plan", "visits"]
    assert "<textarea" not in html  # nobody types JSON
    assert "Complete the conditions" in html and "must not be empty" not in html  # a blank form is not wrong yet


def test_saving_the_builder_stores_the_rule_and_reports_the_count(app):
    people(app)
    client = signed_in_client(app, "staff")
    form = {**TWO_CONDITIONS, "conditions-3-kind": "group", "conditions-3-match": "any",
            "conditions-3-conditions-0-kind": "consent", "conditions-3-conditions-0-consent": "sms:marketing",
            "conditions-3-conditions-0-consent_state": "not_granted",
            "conditions-3-conditions-1-kind": "opted_out", "conditions-3-conditions-1-opted_out": "yes",
            "action": "save"}
    response = client.post(BUILDER, data=form)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "Segment 'Diabetic, visited often' saved: 1 contact match now." in text_of(page)
    with app.app_context():
        segment = db.session.execute(db.select(Segment)).scalar_one()
        assert segment.rule == {"match": "all", "conditions": [
            {"tag": "DIABETIC"}, {"field": "visits", "op": "gt", "value": "5"},
            {"match": "any", "conditions": [{"consent": "sms:marketing", "negate": True}, {"opted_out": True}]}]}
        assert segment.created_by.startswith("staff-")


def test_problems_come_back_under_the_rows_they_concern(app):
    people(app)
    client = signed_in_client(app, "staff")
    client.post(BUILDER, data={**TWO_CONDITIONS, "action": "save"})
    form = {**TWO_CONDITIONS, "name": "diabetic, VISITED often", "conditions-1-value": "often",
            "conditions-2-kind": "contact", "conditions-2-column": "date_of_birth", "conditions-2-op": "before",
            "conditions-2-value": "1990-02-30", "action": "save"}
    response = client.post(BUILDER, data=form)
    assert response.status_code == 422
    assert "already exists" in row_error(response, "name")
    assert "must be a number" in row_error(response, "conditions-1")
    assert "YYYY-MM-DD" in row_error(response, "conditions-2")
    html = response.get_data(as_text=True)
    assert 'value="often"' in html and 'value="1990-02-30"' in html  # what was typed stays
    empty = client.post(BUILDER, data={"name": "Nothing", "match": "all", "action": "save"})
    assert empty.status_code == 422 and "at least one condition" in row_error(empty, "rule")
    with app.app_context():
        assert db.session.execute(db.select(db.func.count()).select_from(Segment)).scalar_one() == 1


def test_the_buttons_work_without_javascript(app):
    client = signed_in_client(app, "staff")
    added = client.post(BUILDER, data={**TWO_CONDITIONS, "action": "add"}).get_data(as_text=True)
    assert 'name="conditions-2-kind"' in added
    grouped = client.post(BUILDER, data={**TWO_CONDITIONS, "action": "add_group"}).get_data(as_text=True)
    assert 'name="conditions-2-kind" value="group"' in grouped and 'name="conditions-2-conditions-0-kind"' in grouped
    group = {**TWO_CONDITIONS, "conditions-2-kind": "group", "conditions-2-match": "all",
             "conditions-2-conditions-0-kind": "tag", "conditions-2-conditions-0-tag": "vip"}
    more = client.post(BUILDER, data={**group, "action": "add_to:conditions-2"}).get_data(as_text=True)
    assert 'name="conditions-2-conditions-1-kind"' in more
    removed = client.post(BUILDER, data={**TWO_CONDITIONS, "action": "remove:conditions-0"}).get_data(as_text=True)
    assert 'name="conditions-0-kind"' not in removed and 'name="conditions-1-kind"' in removed


def test_the_live_count_endpoint_answers_count_sample_and_errors(csrf_app):
    ids = people(csrf_app)
    client = signed_in_client(csrf_app, "staff")
    token = csrf_token_from(client.get(BUILDER).data)
    answer = client.post("/admin/segments/preview", data={**TWO_CONDITIONS},
                         headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.json["count"] == 1
    assert answer.json["sample"] == [{"id": ids[0], "name": f"Ada {_last_name(csrf_app, ids[0])}",
                                      "url": f"/admin/contacts/details/?id={ids[0]}"}]
    assert answer.json["errors"] == {}
    assert 'data-count="1"' in answer.json["html"] and f'href="/admin/contacts/details/?id={ids[0]}"' in \
        answer.json["html"]
    broken = client.post("/admin/segments/preview", data={**TWO_CONDITIONS, "conditions-1-op": "lt",
                                                            "conditions-1-value": "soon"},
                         headers={"X-CSRFToken": token})
    assert broken.json["count"] is None and "must be a number" in broken.json["errors"]["conditions-1"]
    assert "Complete the conditions" in broken.json["html"]
    refused = client.post("/admin/segments/preview", data=TWO_CONDITIONS)  # no CSRF token
    assert refused.status_code == 400
    with csrf_app.app_context():
        assert db.session.execute(db.select(Segment)).first() is None


def _last_name(app, contact_id: int) -> str:
    with app.app_context():
        return db.session.get(Contact, contact_id).last_name


def test_edit_shows_the_stored_rule_as_rows_and_saves_changes(app):
    people(app)
    with app.app_context():
        segment_id = create_segment(SYSTEM, "Gold", {"match": "any", "conditions": [
            {"field": "plan", "op": "eq", "value": "gold"}, {"tag": "vip", "negate": True},
            {"field": "contact.language", "op": "eq", "value": "en"},
            {"match": "all", "conditions": [{"consent": "email:marketing", "negate": False}]}]}).id
        db.session.commit()
    client = signed_in_client(app, "staff")
    page = client.get(f"/admin/segments/{segment_id}/edit").get_data(as_text=True)
    assert re.search(r'name="conditions-0-field" value="plan"', page)
    assert re.search(r'name="conditions-1-kind"[^>]*>.*?<option value="lacks_tag" selected>', page, re.S)
    assert re.search(r'name="conditions-2-column"[^>]*>.*?<option value="language" selected>', page, re.S)
    assert 'name="conditions-3-conditions-0-consent"' in page
    assert re.search(r'<select id="segment-match" name="match"[^>]*>\s*<option value="all">all</option>\s*'
                     r'<option value="any" selected>', page)
    response = client.post(f"/admin/segments/{segment_id}/edit", data={
        "name": "Gold plan", "match": "all", "conditions-0-kind": "field", "conditions-0-field": "plan",
        "conditions-0-op": "eq", "conditions-0-value": "GOLD", "action": "save"})
    assert response.status_code == 302
    with app.app_context():
        segment = db.session.get(Segment, segment_id)
        assert segment.name == "Gold plan"
        assert segment.rule == {"match": "all", "conditions": [{"field": "plan", "op": "eq", "value": "GOLD"}]}
    assert "saved: 1 contact match now" in text_of(client.get("/admin/segments/"))


def test_delete_asks_first(app):
    with app.app_context():
        segment_id = create_segment(SYSTEM, "Old", {"match": "all", "conditions": [{"tag": "x"}]}).id
        db.session.commit()
    client = signed_in_client(app, "staff")
    question = client.get(f"/admin/segments/{segment_id}/delete")
    assert question.status_code == 200 and "Delete segment 'Old'?" in text_of(question)
    with app.app_context():
        assert db.session.get(Segment, segment_id) is not None  # asking deleted nothing
    done = client.post(f"/admin/segments/{segment_id}/delete")
    assert done.status_code == 302
    assert "Segment 'Old' deleted." in text_of(client.get(done.headers["Location"]))
    with app.app_context():
        assert db.session.get(Segment, segment_id) is None
        assert db.session.execute(db.select(AuditEntry).filter_by(action="segment.delete")).scalar_one()
    assert client.get(f"/admin/segments/{segment_id}/edit").status_code == 404


def test_a_contact_is_listed_in_the_segments_it_is_in(app):
    ids = people(app)
    with app.app_context():
        vip = create_segment(SYSTEM, "VIPs", {"match": "all", "conditions": [{"tag": "VIP"}]})
        create_segment(SYSTEM, "Gold", {"match": "all", "conditions": [{"field": "plan", "op": "eq", "value": "gold"}]})
        db.session.commit()
        contact = db.session.get(Contact, ids[2])
        assert [s.name for s in segments_of_contact(contact)] == ["VIPs"]
        assert [s.name for s in segments_of_contact(db.session.get(Contact, ids[0]))] == ["Gold"]
        with app.test_request_context():
            html = render_template("console/contact_segments.html", segments=segments_of_contact(contact))
            assert f'href="/admin/segments/{vip.id}/edit"' in html and ">VIPs</a>" in html
            assert "In no segment" in render_template("console/contact_segments.html", segments=[])


def test_the_contact_page_shows_the_segments_the_contact_is_in(app):
    ids = people(app)
    with app.app_context():
        create_segment(SYSTEM, "VIPs", {"match": "all", "conditions": [{"tag": "VIP"}]})
        create_segment(SYSTEM, "Nobody", {"match": "all", "conditions": [{"tag": "no-such-tag"}]})
        db.session.commit()
    client = signed_in_client(app, "staff")
    page = client.get(f"/admin/contacts/details/?id={ids[2]}").get_data(as_text=True)
    segments = page[page.index('id="segments"'):page.index('id="form-data"')]
    assert ">VIPs</a>" in segments and "Nobody" not in segments
    other = client.get(f"/admin/contacts/details/?id={ids[0]}").get_data(as_text=True)
    assert "In no segment" in other[other.index('id="segments"'):other.index('id="form-data"')]
