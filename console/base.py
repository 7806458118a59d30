"""Access control shared by every console view: login for all, the admin role where it matters.

Checking the role in is_accessible (not only in the menu) means a staff member who types an
admin URL gets 403, and the menu entry disappears with the same rule.
"""
from __future__ import annotations

import re

from flask import Flask, abort, redirect, render_template, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import LimitedStream

from messaging.audit import Actor
from messaging.paging import page_number

from .dashboard import home_context
from .formatting import TYPE_FORMATTERS
from .lookup import MAX_ID, get_by_id, parse_id

# Menu categories (the menu's order is set in console/__init__.py).
ADMIN_CATEGORY = "Admin"
DELIVERIES_CATEGORY = "Deliveries"
# Characters no stored text may hold: PostgreSQL refuses NUL, and a lone surrogate cannot be encoded.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def current_actor() -> Actor:
    """The signed-in user as the core's audit actor, acting from this request's address."""
    return Actor.for_user(current_user, address=request.remote_addr)


class RoleMixin:
    admin_only = False

    def is_accessible(self) -> bool:
        if not current_user.is_authenticated:
            return False
        return current_user.is_admin or not self.admin_only

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def require_admin(self) -> None:
        """403 unless an admin is signed in: for the changes on a page every user may read."""
        if not current_user.is_admin:
            abort(403)


class SecureView(RoleMixin, BaseView):
    """A custom console page (compose, conversations…)."""


class SecureModelView(RoleMixin, ModelView):
    """A list/edit view over one model. Records are never deleted from the console."""

    # Flask-Admin's list page less its inline script (see the template), for the CSP.
    list_template = "admin/console_list.html"
    page_size = 25
    can_view_details = True
    can_delete = False
    named_filter_urls = True
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    create_modal = False
    edit_modal = False

    def get_one(self, id):
        # Flask-Admin's own pages (details, edit) look records up here.
        return get_by_id(self.model, id)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        # A page past the end (or below zero, or too large for the database's OFFSET) shows the last one.
        count, query = super().get_list(page, sort_column, sort_desc, search, filters, execute=False,
                                        page_size=page_size)
        size = self.page_size if page_size is None else page_size
        if page and size:
            query = query.offset((page_number(page + 1, count or 0, size) - 1) * size)  # 0-based here
        return count, query.all() if execute else query

    def render(self, template, **kwargs):
        if template == self.list_template and kwargs.get("num_pages") and kwargs.get("page"):
            kwargs["page"] = min(max(kwargs["page"], 0), kwargs["num_pages"] - 1)
        return super().render(template, **kwargs)


class AdminModelView(SecureModelView):
    admin_only = True


class HomeView(RoleMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("console/home.html", **home_context())


def init_input_guards(app: Flask, console_prefix: str) -> None:
    """Refuse, before any console view runs, what no view could handle: text that cannot be stored,
    record ids that name no row; and answer 400, 404 and 413 with a page that says what happened."""

    def is_console_request() -> bool:
        path = request.path
        return request.blueprint == "auth" or path == console_prefix or path.startswith(console_prefix + "/")

    @app.before_request
    def _refuse_unusable_input():
        if not is_console_request():
            return None
        form = request.form
        if request.content_length is None and isinstance(request.stream, LimitedStream) and request.stream.is_exhausted:
            # Werkzeug stops reading a body sent without Content-Length (chunked) at MAX_CONTENT_LENGTH
            # without an error: the form would be a cut-off prefix of what was sent.
            abort(413)
        for source in (request.args, form):
            for name, value in source.items(multi=True):
                if UNSTORABLE.search(name) or UNSTORABLE.search(value):
                    char = UNSTORABLE.search(name + value).group()
                    what = "a NUL character" if char == "\x00" else "an unpaired surrogate"
                    label = name if not UNSTORABLE.search(name) else "a field name"
                    abort(400, f"The value of “{label}” contains {what} (U+{ord(char):04X}), which cannot be "
                               "stored. Remove it and try again.")
        # ?id= names the record of every record page and action; rowid those of Flask-Admin's list actions.
        for value in request.args.getlist("id") + request.form.getlist("rowid"):
            if parse_id(value) is None:
                abort(404, f"There is no record with id {value[:30]!r}.")
        for name, value in (request.view_args or {}).items():
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                abort(404, f"There is no record with {name.replace('_', ' ')} {value}.")
        return None

    def error_page(exc: HTTPException):
        if not is_console_request():
            return exc
        status = exc.code or 500
        if status == 413:
            limit = request.max_content_length
            size = f"{limit / (1024 * 1024):g} MiB" if limit else "the limit"
            title = "Too much data"
            message = (f"What you sent is larger than {size}, the most the console accepts in one request. "
                       "Nothing was saved. Shorten the text (or send fewer records) and try again.")
        elif status == 404:
            title, message = "Not found", exc.description or "There is no such page or record."
        else:
            title = "The request could not be used"
            message = exc.description or "Something in the request was not valid. Nothing was saved."
        return render_template("console/error.html", title=title, message=message, status=status,
                               home_url=url_for("admin.index")), status

    for code in (400, 404, 413):
        app.register_error_handler(code, error_page)
