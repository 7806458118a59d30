"""The organisation's logo: uploaded on the Settings page (PNG or JPEG by content, at most 200 KB, audited),
served at /m/_/logo without caching, shown on client pages, and removed only after a confirmation."""
from __future__ import annotations

import io
import struct
import zlib

from messaging.db import db
from messaging.models import AuditEntry
from messaging.settings import get_settings
from seeds.factories import make_contact
from tests.support.console import signed_in_client
from tests.support.messages import link_path, send


def png(width: int = 4, height: int = 2, padding: int = 0) -> bytes:
    """A real PNG image; ``padding`` adds a text chunk to make it bigger."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x1f\x5f\x8b" * width for _ in range(height))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows))
    if padding:
        body += chunk(b"tEXt", b"Comment\x00" + b"x" * padding)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def upload(admin, data: bytes, filename: str = "logo.png"):
    return admin.post("/admin/settings/logo", data={"logo": (io.BytesIO(data), filename)},
                      content_type="multipart/form-data", follow_redirects=True)


def test_no_logo_is_the_neutral_404(client):
    response = client.get("/m/_/logo")
    assert response.status_code == 404
    assert 'data-state="not_found"' in response.get_data(as_text=True)


def test_an_uploaded_png_is_served_shown_on_client_pages_and_audited(app, client):
    admin = signed_in_client(app, "admin")
    image = png()
    page = upload(admin, image).get_data(as_text=True)
    assert "Saved: logo." in page and "Current logo: image/png" in page
    served = client.get("/m/_/logo")
    assert served.status_code == 200 and served.data == image
    assert served.mimetype == "image/png"
    assert "no-store" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    with app.app_context():
        message = send(make_contact(pin="2468"), body="Logo body LG-1", secure=True)
        path = link_path(message)
        entry = db.session.execute(db.select(AuditEntry).filter_by(action="settings.change")).scalar_one()
        assert entry.detail["key"] == "logo" and entry.detail["old"] is None
        assert entry.detail["new"].startswith(f"image/png, {len(image)} bytes")
    landing = client.get(path).get_data(as_text=True)
    assert 'src="/m/_/logo"' in landing


def test_a_jpeg_replaces_the_png(app, client):
    admin = signed_in_client(app, "admin")
    upload(admin, png())
    page = upload(admin, JPEG, "photo.jpg").get_data(as_text=True)
    assert "Current logo: image/jpeg" in page
    assert client.get("/m/_/logo").mimetype == "image/jpeg"


def test_svg_an_executable_named_png_and_a_big_file_are_refused(app, client):
    admin = signed_in_client(app, "admin")
    for data, name in ((SVG, "logo.svg"), (EXE, "logo.png"), (png(padding=200 * 1024), "big.png")):
        page = upload(admin, data, name).get_data(as_text=True)
        assert "The logo was not changed." in page, name
    assert "at most 200 KB" in page
    assert client.get("/m/_/logo").status_code == 404
    with app.app_context():
        assert get_settings().logo is None
        assert db.session.execute(db.select(AuditEntry).filter_by(action="settings.change")).first() is None


def test_a_file_of_exactly_200_kb_is_accepted(app, client):
    admin = signed_in_client(app, "admin")
    image = png()
    image = png(padding=200 * 1024 - len(image) - 12 - len(b"Comment\x00"))
    assert len(image) == 200 * 1024
    assert "Saved: logo." in upload(admin, image).get_data(as_text=True)
    assert client.get("/m/_/logo").data == image


def test_removing_the_logo_needs_the_confirmation_box_and_is_audited(app, client):
    admin = signed_in_client(app, "admin")
    upload(admin, png())
    kept = admin.post("/admin/settings/logo/remove", data={}, follow_redirects=True).get_data(as_text=True)
    assert "The logo was kept" in kept
    assert client.get("/m/_/logo").status_code == 200
    removed = admin.post("/admin/settings/logo/remove", data={"confirm": "yes"}, follow_redirects=True)
    assert "Removed: logo." in removed.get_data(as_text=True)
    assert client.get("/m/_/logo").status_code == 404
    with app.app_context():
        entries = db.session.execute(db.select(AuditEntry).filter_by(action="settings.change")
                                     .order_by(AuditEntry.id)).scalars().all()
        assert [e.detail["new"] is None for e in entries] == [False, True]


def test_only_admins_change_the_logo(app, client):
    staff = signed_in_client(app, "staff")
    response = staff.post("/admin/settings/logo", data={"logo": (io.BytesIO(png()), "logo.png")},
                          content_type="multipart/form-data")
    assert response.status_code in (302, 403)
    assert client.get("/m/_/logo").status_code == 404
