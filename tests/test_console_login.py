from seeds.factories import make_user
from tests.support.accounts import stored_user
from tests.support.console import sign_in
from tests.support.records import audit_entries_in


def test_login_then_home_then_logout(app, client):
    with app.app_context():
        make_user("staff@example.com", role="staff", password="correct horse battery")
    assert client.get("/admin/").status_code == 302
    bad = client.post("/login", data={"email": "staff@example.com", "password": "wrong password!!"})
    assert bad.status_code == 401 and b"do not match" in bad.data
    assert stored_user(app, "staff@example.com").last_login_at is None  # a refused sign-in is not one
    ok = client.post("/login?next=//evil.example/", data={"email": "staff@example.com",
                                                          "password": "correct horse battery"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/admin/"
    [login] = audit_entries_in(app, "user.login")
    assert stored_user(app, "staff@example.com").last_login_at == login.at
    home = client.get("/admin/")
    assert home.status_code == 200 and b"staff@example.com" in home.data
    assert client.post("/logout").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_a_console_left_idle_signs_out(app, client):
    from messaging.audit import SYSTEM
    from messaging.db import db
    from messaging.settings import change_setting

    with app.app_context():
        make_user("idle@example.com", role="staff", password="correct horse battery")
        change_setting(SYSTEM, "session_idle_minutes", "5")
        db.session.commit()
    sign_in(app, "idle@example.com", client=client)
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] -= 6 * 60
    answer = client.get("/admin/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert client.get("/admin/").status_code == 302
