"""The tag and field index follows every change of a contact's tags and form data, folded alike on both databases."""
from __future__ import annotations

from messaging.db import db
from messaging.models import ContactField, ContactTag
from seeds.factories import make_contact


def _tags(contact):
    return sorted(db.session.execute(db.select(ContactTag.tag).filter_by(contact_id=contact.id)).scalars())


def _fields(contact):
    return {f.name: (f.text, f.number, f.date)
            for f in db.session.execute(db.select(ContactField).filter_by(contact_id=contact.id)).scalars()}


def test_a_new_contact_is_indexed_with_folded_tags_and_typed_fields(ctx):
    contact = make_contact(tags=["VIP", "Straße"], form_data={
        "age": "15", "score": -2.5, "visit": "2025-03-14T10:00", "bad_day": "2025-02-30", "vip": True,
        "Note": "İstanbul ÉTÉ", "empty": None})
    assert _tags(contact) == ["strasse", "vip"]
    assert _fields(contact) == {
        "age": ("15", 15.0, None), "score": ("-2.5", -2.5, None), "visit": ("2025-03-14t10:00", None, "2025-03-14"),
        "bad_day": ("2025-02-30", None, None), "vip": ("true", None, None), "Note": ("i̇stanbul été", None, None)}


def test_changing_tags_or_form_data_replaces_the_index_rows(ctx):
    contact = make_contact(tags=["a", "b"], form_data={"x": "1", "y": "2"})
    contact.tags = ["c"]
    db.session.commit()
    assert _tags(contact) == ["c"]
    contact.form_data = {"y": "3"}
    db.session.commit()
    assert _fields(contact) == {"y": ("3", 3.0, None)}
    contact.first_name = "Renamed"  # other changes leave the index alone
    db.session.commit()
    assert _tags(contact) == ["c"] and _fields(contact) == {"y": ("3", 3.0, None)}


def test_a_rolled_back_change_leaves_the_index_as_it_was(ctx):
    contact = make_contact(tags=["kept"])
    contact.tags = ["dropped"]
    db.session.flush()
    db.session.rollback()
    assert _tags(contact) == ["kept"]


def test_a_number_beyond_a_floats_range_is_text_only(ctx):
    contact = make_contact(form_data={"huge": 10 ** 400, "long": "9" * 400})
    fields = _fields(contact)
    assert fields["huge"][1] is None and fields["long"][1] is None
    assert fields["long"][0] == "9" * 400
