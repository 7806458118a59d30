"""Who sees what in the console: admin-only pages refuse staff with 403 and vanish from their menu."""
import pytest

from tests.console_helpers import signed_in_client

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
