"""The password policy where passwords are chosen (account page, ``users create``, the Users page), and argon2
parameters moving on at sign-in after ``ARGON2_PARAMS`` changed."""
from __future__ import annotations

import pytest

from app import create_app
from messaging.audit import SYSTEM
from messaging.errors import ValidationFailed
from messaging.people.users import create_user
from messaging.security.password_policy import password_weakness
from seeds.factories import make_user
from tests.support.accounts import stored_user
from tests.support.app import app_config, dispose
from tests.support.console import PASSWORD, sign_in, signed_in_client
from tests.support.records import audit_entries_in

COMMON = ("password1234", "Password123!", "qwertyuiop12", "123456789012", "iloveyou1234", "aaaaaaaaaaaa")


@pytest.mark.parametrize("password", COMMON)
def test_common_and_patterned_passwords_are_refused(password):
    assert "is too easy to guess" in password_weakness(password)


@pytest.mark.parametrize("password", [PASSWORD, "a much longer passphrase", "tangerine ladder 47 quietly"])
def test_long_unrelated_words_pass(password):
    assert password_weakness(password) is None


def test_the_own_email_does_not_make_a_password(ctx):
    assert password_weakness("dana.tester1984") is None  # strong enough for someone else's account
    assert "too easy to guess" in password_weakness("dana.tester1984", ["dana.tester1984@example.com"])
    assert "too easy to guess" in password_weakness("danatester@example.com", ["danatester@example.com"])


def test_short_passwords_still_say_how_long(ctx):
    assert password_weakness("short") == "must be at least 12 characters"


def test_the_account_page_refuses_a_common_password_with_a_clear_message(app):
    client = signed_in_client(app, "staff", email="me@example.com")
    refused = client.post("/admin/account/", data={"current_password": PASSWORD, "new_password": "password1234",
                                                   "confirm_password": "password1234"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Your password was not changed." in page
    assert "The new password is too easy to guess (This is a very common password)" in page
    assert "password1234" not in page.replace("is a very common password", "")
    assert sign_in(app, "me@example.com", PASSWORD)[1].status_code == 302
    assert audit_entries_in(app, "user.password_change") == []


def test_users_create_refuses_a_common_password(runner):
    refused = runner.invoke(args=["users", "create", "weak@example.com", "--role", "staff", "--password-stdin"],
                            input="Password123!\n")
    assert refused.exit_code != 0
    assert "too easy to guess" in refused.output
    ok = runner.invoke(args=["users", "create", "strong@example.com", "--role", "staff", "--password-stdin"],
                       input="tangerine ladder 47 quietly\n")
    assert ok.exit_code == 0, ok.output


def test_the_users_page_refuses_a_common_password(app):
    admin = signed_in_client(app, "admin")
    answer = admin.post("/admin/users/new/", data={"email": "new@example.com", "role": "staff",
                                                   "password": "qwertyuiop12"})
    assert "too easy to guess" in answer.get_data(as_text=True)
    with app.app_context(), pytest.raises(ValidationFailed):
        create_user(SYSTEM, "new@example.com", "staff", "qwertyuiop12")


def test_a_hash_made_with_old_argon2_parameters_is_upgraded_at_sign_in(make_app, tmp_path):
    old = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
    new = {"time_cost": 2, "memory_cost": 2048, "parallelism": 1}
    app = make_app(ARGON2_PARAMS=old)
    with app.app_context():
        make_user("old-params@example.com")
    before = stored_user(app, "old-params@example.com").password_hash
    assert "m=1024,t=1" in before
    # The same database, served after the operator raised the parameters.
    upgraded = create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                                     ARGON2_PARAMS=new))
    try:
        refused = sign_in(upgraded, "old-params@example.com", "not the password")[1]
        assert refused.status_code == 401
        assert stored_user(upgraded, "old-params@example.com").password_hash == before  # only after a good one
        client, answer = sign_in(upgraded, "old-params@example.com")
        assert answer.status_code == 302 and client.get("/admin/").status_code == 200
        after = stored_user(upgraded, "old-params@example.com").password_hash
        assert "m=2048,t=2" in after and after != before
        assert sign_in(upgraded, "old-params@example.com")[1].status_code == 302  # still the same password
        assert stored_user(upgraded, "old-params@example.com").password_hash == after  # no rehash each time
    finally:
        dispose(upgraded)
