"""Access control shared by every console view: login for all, the admin role where it matters.

Checking the role in is_accessible (not only in the menu) means a staff member who types an
admin URL gets 403, and the menu entry disappears with the same rule.
"""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user

from messaging.audit import Actor


def current_actor() -> Actor:
    return Actor.for_user(current_user)


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


class SecureView(RoleMixin, BaseView):
    """A custom console page (compose, conversations…)."""


class SecureModelView(RoleMixin, ModelView):
    """A list/edit view over one model."""

    page_size = 25
    can_view_details = True
    create_modal = False
    edit_modal = False


class AdminModelView(SecureModelView):
    admin_only = True


class HomeView(RoleMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("console/home.html")
