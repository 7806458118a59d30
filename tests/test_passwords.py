"""argon2 parameters: OWASP's sizing in production; hashes made with older parameters keep working
and move to the current ones the next time their secret is used (PINs on a right PIN, passwords at login)."""
from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from messaging.db import db
from messaging.models import Contact, User
from messaging.security.passwords import PRODUCTION_PARAMS, make_hasher
from seeds.factories import make_contact, make_user
from tests.support.app import FAST_ARGON2
from tests.support.console import PASSWORD, sign_in
from tests.support.messages import link_path, send

# What every hash was made with before issue 11: argon2-cffi's defaults (64 MiB, t=3, 4 lanes).
OLD = PasswordHasher()


def _params(stored: str) -> dict:
    p = extract_parameters(stored)
    return {"memory_cost": p.memory_cost, "time_cost": p.time_cost, "parallelism": p.parallelism}


def test_production_hashes_use_owasps_19_mib_two_passes_one_lane():
    stored = make_hasher(None).hash("2468")
    assert _params(stored) == {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1} == PRODUCTION_PARAMS


def test_a_password_hashed_with_old_parameters_signs_in_and_is_rehashed(app):
    with app.app_context():
        user = make_user("old-hash@example.com", role="admin", password=PASSWORD)
        user.password_hash = OLD.hash(PASSWORD)
        db.session.commit()
    _, response = sign_in(app, "old-hash@example.com")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.execute(db.select(User.password_hash).filter_by(email="old-hash@example.com")).scalar_one()
    assert _params(stored) == FAST_ARGON2  # the app's configured parameters (cheap in tests)
    _, again = sign_in(app, "old-hash@example.com")
    assert again.status_code == 302


def test_a_wrong_password_leaves_the_old_hash_alone(app):
    with app.app_context():
        user = make_user("wrong-pw@example.com", role="admin", password=PASSWORD)
        old = user.password_hash = OLD.hash(PASSWORD)
        db.session.commit()
    _, response = sign_in(app, "wrong-pw@example.com", password="not the password")
    assert response.status_code != 302
    with app.app_context():
        stored = db.session.execute(db.select(User.password_hash).filter_by(email="wrong-pw@example.com"))
        assert stored.scalar_one() == old


def test_a_pin_hashed_with_old_parameters_opens_the_message_and_is_rehashed(app, client):
    with app.app_context():
        contact = make_contact(pin="2468")
        contact.pin_hash = OLD.hash("2468")
        db.session.commit()
        message = send(contact, body="Rehash body RH-1", secure=True, require_pin=True)
        path, contact_id = link_path(message), contact.id
    wrong = client.post(path, data={"pin": "1357"})
    assert wrong.status_code == 403
    with app.app_context():
        assert _params(db.session.get(Contact, contact_id).pin_hash) == _params(OLD.hash("x"))
    right = client.post(path, data={"pin": "2468"})
    assert right.status_code == 200 and b"Rehash body RH-1" in right.data
    with app.app_context():
        assert _params(db.session.get(Contact, contact_id).pin_hash) == FAST_ARGON2
