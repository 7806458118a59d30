"""Imports: upload a CSV of contacts, check the mapping on a preview, start it, watch it run in the background.

The file is stored encrypted by the core as it is read (``create_import``) and processed by the
scheduler or ``flask worker`` (``run_pending_imports``); this face only uploads, previews, starts
and reports. The progress page polls a JSON status endpoint, so the person can leave it and come
back (the list shows every import with its status). Rejected rows download as CSV: the line, the
file's own columns, and the reason.
"""
from __future__ import annotations

import csv
import io

from flask import Response, current_app, flash, jsonify, redirect, request, stream_with_context
from flask_admin import Admin, expose
from sqlalchemy import select

from messaging.audience.import_jobs import (
    create_import,
    discard_import,
    preview_rows,
    progress,
    rejected_rows,
    start_import,
)
from messaging.audience.import_rows import target_choices
from messaging.audit import audit
from messaging.db import db
from messaging.errors import ValidationFailed
from messaging.models import ContactImport

from .base import SecureView, current_actor
from .core_calls import run_core
from .lookup import get_or_404

LISTED_IMPORTS = 50


def target_label(target: str) -> str:
    """How a mapping target reads in the preview's selects."""
    if target.startswith("consent:"):
        _, channel, purpose = target.split(":")
        return f"Consent: {channel} {purpose}"
    if target.startswith("form:"):
        return f"Form field “{target[len('form:'):]}”"
    if target == "ignore":
        return "Ignore this column"
    return target


def _split_tags(text: str) -> list[str]:
    return [word.strip() for word in text.replace(";", ",").split(",") if word.strip()]


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


class ImportsView(SecureView):
    @expose("/")
    def index(self):
        imports = db.session.execute(select(ContactImport).order_by(ContactImport.id.desc())
                                     .limit(LISTED_IMPORTS)).scalars().all()
        return self.render("console/import_index.html", imports=imports, progress=progress,
                           limit=_megabytes(current_app.config["IMPORT_MAX_UPLOAD_BYTES"]))

    @expose("/upload/", methods=("POST",))
    def upload(self):
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choose a CSV file to upload.", "error")
            return redirect(self.get_url(".index"))
        with run_core() as call:
            contact_import = create_import(current_actor(), upload.filename, upload.stream,
                                           extra_tags=_split_tags(request.form.get("extra_tags", "")))
        if call.failed:
            return redirect(self.get_url(".index"))
        return redirect(self.get_url(".preview", id=contact_import.id))

    def _render_preview(self, contact_import: ContactImport, errors: dict | None = None, status: int = 200,
                        mapping: dict | None = None, extra_tags: str | None = None):
        try:
            rows = preview_rows(contact_import)
        except ValidationFailed as exc:
            rows, errors = [], {**(errors or {}), "file": exc.message}
        columns = contact_import.columns
        mapping = mapping if mapping is not None else contact_import.mapping
        if extra_tags is None:
            extra_tags = ", ".join(contact_import.extra_tags or [])
        choices = [[(target, target_label(target)) for target in target_choices(name)] for name in columns]
        body = self.render("console/import_preview.html", contact_import=contact_import, rows=rows,
                           columns=columns, mapping=mapping, choices=choices, errors=errors or {},
                           extra_tags=extra_tags)
        return body, status

    @expose("/preview/", methods=("GET", "POST"))
    def preview(self):
        contact_import = get_or_404(ContactImport, request.args.get("id"))
        if contact_import.status != "draft":
            return redirect(self.get_url(".progress_page", id=contact_import.id))
        if request.method == "GET":
            return self._render_preview(contact_import)
        mapping = {str(n): request.form.get(f"map-{n}", "ignore") for n in range(len(contact_import.columns))}
        extra_tags = request.form.get("extra_tags", "")
        with run_core(flash_error=False) as call:
            start_import(contact_import, mapping, _split_tags(extra_tags))
        if call.failed:
            # What was chosen stays on screen, with what is wrong with it.
            return self._render_preview(contact_import, {**call.fields, "_": call.error.message}, 422,
                                        mapping=mapping, extra_tags=extra_tags)
        flash(f"The import of {contact_import.filename} has started; it runs in the background.", "success")
        return redirect(self.get_url(".progress_page", id=contact_import.id))

    @expose("/discard/", methods=("POST",))
    def discard(self):
        contact_import = get_or_404(ContactImport, request.args.get("id"))
        name = contact_import.filename
        with run_core() as call:
            discard_import(contact_import)
        if not call.failed:
            flash(f"The import of {name} was deleted, with its file and rejected rows.", "success")
        return redirect(self.get_url(".index"))

    @expose("/progress/")
    def progress_page(self):
        contact_import = get_or_404(ContactImport, request.args.get("id"))
        if contact_import.status == "draft":
            return redirect(self.get_url(".preview", id=contact_import.id))
        return self.render("console/import_progress.html", contact_import=contact_import,
                           state=progress(contact_import))

    @expose("/status/")
    def status(self):
        contact_import = get_or_404(ContactImport, request.args.get("id"))
        answer = progress(contact_import)
        answer["rejects_url"] = self.get_url(".rejects", id=contact_import.id) if contact_import.rejected else None
        response = jsonify(answer)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/rejects/")
    def rejects(self):
        contact_import = get_or_404(ContactImport, request.args.get("id"))
        audit(current_actor(), "contacts.import_rejects_download", "contact_import", contact_import.id,
              rows=contact_import.rejected)
        db.session.commit()
        import_id = contact_import.id
        columns = list(contact_import.columns)

        def lines():
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["line", *columns, "reason"])
            for line, reason, values in rejected_rows(db.session.get(ContactImport, import_id)):
                writer.writerow([line, *values, reason])
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        response = Response(stream_with_context(lines()), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="import-{import_id}-rejected.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response


def _raise_upload_limit() -> None:
    # Runs before every other request hook (the input guard and CSRF read the form): only the upload
    # may be larger than MAX_CONTENT_LENGTH, up to IMPORT_MAX_UPLOAD_BYTES.
    if request.endpoint == "imports.upload":
        request.max_content_length = current_app.config["IMPORT_MAX_UPLOAD_BYTES"]


def register(admin: Admin) -> None:
    admin.add_view(ImportsView(name="Imports", endpoint="imports", url="imports"))
    admin.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)
