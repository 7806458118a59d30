"""Who sees what in the console: admin-only pages refuse staff with 403 and vanish from their menu."""
import pytest

from messaging.audit import SYSTEM
from messaging.db import db
from messaging.errors import Conflict
from messaging.models import User
from messaging.people.users import change_role
from seeds.factories import make_user
from tests.support.console import signed_in_client, user_id
from tests.support.records import audit_entries_in

ADMIN_ONLY = {
    "/admin/settings/": "Settings",
    "/admin/users/": "Users",
    "/admin/api-keys/": "API keys",
    "/admin/audit/": "Audit log",
    "/admin/failed-deliveries/": "Failed deliveries",
}
FOR_EVERYONE = {"/admin/contacts/": "Contacts", "/admin/messages/": "Messages", "/admin/scheduled/": "Scheduled"}


@pytest.mark.parametrize("url", list(ADMIN_ONLY))
def test_staff_get_403_on_admin_pages(app, url):
    staff = signed_in_client(app, "staff")
    assert staff.get(url).status_code == 403


def test_staff_menu_has_no_admin_entries_but_admin_menu_has_them(app):
    staff_home = signed_in_client(app, "staff").get("/admin/").get_data(as_text=True)
    admin_home = signed_in_client(app, "admin").get("/admin/").get_data(as_text=True)
    for url, label in ADMIN_ONLY.items():
        assert f'href="{url}"' not in staff_home, label
        assert f'href="{url}"' in admin_home, label
    for url in FOR_EVERYONE:
        assert f'href="{url}"' in staff_home
        assert f'href="{url}"' in admin_home


def test_admin_pages_and_shared_pages_open_for_admin(app):
    admin = signed_in_client(app, "admin")
    for url in [*ADMIN_ONLY, *FOR_EVERYONE]:
        assert admin.get(url).status_code == 200, url


def test_record_pages_send_anonymous_visitors_to_login(client):
    for url in [*ADMIN_ONLY, *FOR_EVERYONE]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


# --- changing a user's role (admin action "Change role…") ---

def _role(app, email: str) -> str:
    with app.app_context():
        return db.session.execute(db.select(User.role).filter_by(email=email)).scalar_one()


def test_an_admin_changes_a_role_after_confirming_and_the_users_sessions_end(app):
    staff = signed_in_client(app, "staff", email="promoted@example.com")
    admin = signed_in_client(app, "admin", email="boss@example.com")
    target = user_id(app, "promoted@example.com")
    assert f'href="/admin/users/role/?id={target}"' in admin.get("/admin/users/").get_data(as_text=True)
    confirm = admin.get(f"/admin/users/role/?id={target}").get_data(as_text=True)
    assert "Change the role of promoted@example.com from staff to admin?" in confirm
    assert 'name="role" value="admin"' in confirm and "Make admin" in confirm
    assert _role(app, "promoted@example.com") == "staff"  # asking changes nothing

    done = admin.post(f"/admin/users/role/?id={target}", data={"role": "admin"}, follow_redirects=True)
    assert "promoted@example.com is now admin" in done.get_data(as_text=True)
    assert _role(app, "promoted@example.com") == "admin"
    assert staff.get("/admin/users/").status_code == 302  # the old staff session is over, not promoted in place
    [entry] = audit_entries_in(app, "user.role_change")
    assert entry.actor == "boss@example.com" and entry.target_id == str(target)
    assert entry.detail == {"email": "promoted@example.com", "old": "staff", "new": "admin"}
    assert signed_in_client(app, "staff").get(f"/admin/users/role/?id={target}").status_code == 403


def test_the_last_active_admin_cannot_be_demoted(app):
    admin = signed_in_client(app, "admin", email="only@example.com")
    own = user_id(app, "only@example.com")
    refused = admin.post(f"/admin/users/role/?id={own}", data={"role": "staff"}, follow_redirects=True)
    assert "This is the last active admin" in refused.get_data(as_text=True)
    assert _role(app, "only@example.com") == "admin"
    assert admin.get("/admin/users/").status_code == 200  # nothing changed, still signed in
    with app.app_context():
        with pytest.raises(Conflict):
            change_role(SYSTEM, db.session.get(User, own), "staff")


def test_an_admin_may_step_down_while_another_admin_remains_and_is_signed_out(app):
    signed_in_client(app, "admin", email="other@example.com")
    admin = signed_in_client(app, "admin", email="stepping@example.com")
    own = user_id(app, "stepping@example.com")
    assert "You will be signed out" in admin.get(f"/admin/users/role/?id={own}").get_data(as_text=True)
    assert admin.post(f"/admin/users/role/?id={own}", data={"role": "staff"}).status_code == 302
    assert _role(app, "stepping@example.com") == "staff"
    assert admin.get("/admin/").status_code == 302


def test_an_unknown_role_is_refused(app):
    admin = signed_in_client(app, "admin")
    with app.app_context():
        make_user("plain@example.com", role="staff")
    staff_id = user_id(app, "plain@example.com")
    answer = admin.post(f"/admin/users/role/?id={staff_id}", data={"role": "owner"}, follow_redirects=True)
    assert "The role must be one of admin, staff." in answer.get_data(as_text=True)
    assert _role(app, "plain@example.com") == "staff"

