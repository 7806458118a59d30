"""The console's import: upload, preview with the detected mapping (changeable), start, progress, rejected rows."""
from __future__ import annotations

import csv
import io
import re

from messaging.db import db
from messaging.delivery.scheduler import import_job
from messaging.models import AuditEntry, Contact
from tests.support.console import csrf_token_from, signed_in_client

FILE = ("first_name,last_name,Mobile,email,tags,Next visit\n"
        "Ana,Ruiz,(415) 555-0123,ana@example.com,vip,2025-03-14\n"
        "Ben,Ng,not a number,ben@example.com,,2025-03-15\n"
        'Cy,Li,+14155550124,cy@example.com,new,"2025-03-16\nafternoon"\n')


def upload(client, data: bytes, token: str | None, name: str = "patients.csv", **form):
    fields = {"file": (io.BytesIO(data), name), **form}
    if token:
        fields["csrf_token"] = token
    return client.post("/admin/imports/upload/", data=fields, content_type="multipart/form-data")


def token_of(client, path: str = "/admin/imports/") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return csrf_token_from(page.data)


def selected(html: str, column: str) -> str:
    select = re.search(r'<select[^>]*data-import-column="' + re.escape(column) + r'".*?</select>', html, re.S)
    return re.search(r'<option value="([^"]+)" selected>', select.group()).group(1)


def test_upload_preview_start_and_follow_the_progress_to_the_end(csrf_app):
    client = signed_in_client(csrf_app, "staff")
    response = upload(client, FILE.encode(), token_of(client), extra_tags="spring")
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    assert "/admin/imports/preview/" in preview_url

    page = client.get(preview_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ana" in html and "afternoon" in html
    assert selected(html, "first_name") == "first_name"
    assert selected(html, "Mobile") == "form:Mobile"
    assert selected(html, "Next visit") == "form:Next visit"
    assert 'value="spring"' in html

    form = {"csrf_token": csrf_token_from(html), "extra_tags": "spring, clinic-a",
            **{f"map-{n}": target for n, target in enumerate(
                ["first_name", "last_name", "phone", "email", "tags", "form:Next visit"])}}
    started = client.post(preview_url, data=form)
    assert started.status_code == 302
    progress_url = started.headers["Location"]
    progress_page = client.get(progress_url).get_data(as_text=True)
    assert 'role="progressbar"' in progress_page and 'aria-valuenow="' in progress_page
    status_url = re.search(r'data-status-url="([^"]+)"', progress_page).group(1).replace("&amp;", "&")

    waiting = client.get(status_url)
    assert waiting.json["status"] == "pending" and waiting.json["percent"] < 100
    assert waiting.headers["Cache-Control"] == "no-store"

    import_job(csrf_app)
    done = client.get(status_url).json
    assert {key: done[key] for key in ("status", "created", "updated", "rejected", "percent")} == {
        "status": "done", "created": 2, "updated": 0, "rejected": 1, "percent": 100}
    assert done["processed_bytes"] == done["total_bytes"] == len(FILE.encode())
    with csrf_app.app_context():
        ana = db.session.execute(db.select(Contact).filter_by(first_name="Ana")).scalar_one()
        assert (ana.phone, ana.tags, ana.form_data) == (
            "+14155550123", ["clinic-a", "spring", "vip"], {"Next visit": "2025-03-14"})

    download = client.get(done["rejects_url"])
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["line", "first_name", "last_name", "Mobile", "email", "tags", "Next visit", "reason"]
    assert rows[1][:7] == ["3", "Ben", "Ng", "not a number", "ben@example.com", "", "2025-03-15"]
    assert rows[1][7].startswith("Mobile: ")
    with csrf_app.app_context():
        assert db.session.execute(db.select(AuditEntry).filter_by(
            action="contacts.import_rejects_download")).scalar_one().detail == {"rows": 1}

    listing = client.get("/admin/imports/").get_data(as_text=True)
    assert "patients.csv" in listing and ">done<" in listing


def test_a_mapping_without_first_name_is_refused_and_the_choices_stay_on_screen(app):
    client = signed_in_client(app)
    preview_url = upload(client, FILE.encode(), None).headers["Location"]
    mapping = {f"map-{n}": "ignore" for n in range(6)} | {"map-2": "phone"}
    refused = client.post(preview_url, data=mapping)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "No column is first_name" in html
    assert selected(html, "Mobile") == "phone" and selected(html, "first_name") == "ignore"
    both = client.post(preview_url, data={"map-0": "first_name", "map-1": "first_name"})
    assert both.status_code == 422 and "both mapped to first_name" in both.get_data(as_text=True)


def test_a_file_that_is_not_utf8_text_is_refused_at_upload_with_the_reason(app):
    client = signed_in_client(app)
    response = upload(client, "first_name\nJosé\n".encode("cp1252"), None)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/imports/")
    assert "not UTF-8" in client.get("/admin/imports/").get_data(as_text=True)


def test_the_upload_may_exceed_the_request_limit_up_to_the_import_limit_and_no_further(make_app):
    app = make_app(IMPORT_MAX_UPLOAD_BYTES=4 * 1024 * 1024)
    client = signed_in_client(app)
    row = "Ana,+14155550123,ana@example.com,x\n"
    three_mib = ("first_name,phone,email,notes\n" + row * (3 * 1024 * 1024 // len(row))).encode()
    assert len(three_mib) > app.config["MAX_CONTENT_LENGTH"]
    assert upload(client, three_mib, None).status_code == 302
    too_big = upload(client, three_mib * 2, None)
    assert too_big.status_code == 413
    assert "larger than 4 MiB" in too_big.get_data(as_text=True)


def test_posts_without_the_csrf_token_are_refused(csrf_app):
    client = signed_in_client(csrf_app)
    assert upload(client, FILE.encode(), None).status_code == 400
    preview_url = upload(client, FILE.encode(), token_of(client)).headers["Location"]
    assert client.post(preview_url, data={"map-0": "first_name"}).status_code == 400


def test_a_draft_can_be_deleted_with_its_file(app):
    client = signed_in_client(app)
    preview_url = upload(client, FILE.encode(), None).headers["Location"]
    import_id = preview_url.rsplit("=", 1)[1]
    assert client.post(f"/admin/imports/discard/?id={import_id}").status_code == 302
    assert client.get(preview_url).status_code == 404
