"""Users (admins only): create, change role, reset a password, deactivate and reactivate."""
from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_admin import Admin, expose
from flask_admin.contrib.sqla.filters import FilterEqual
from flask_admin.form import BaseForm
from markupsafe import Markup
from wtforms import PasswordField, SelectField, StringField

from messaging.db import db
from messaging.models import ROLES, User
from messaging.people.users import MIN_PASSWORD_LENGTH, change_role, create_user, reset_password, set_user_active

from .base import ADMIN_CATEGORY, AdminModelView, current_actor
from .core_calls import run_core
from .lookup import get_or_404
from .widgets import confirm_page, link, post_button


class UserForm(BaseForm):
    email = StringField("E-mail")
    role = SelectField("Role", choices=list(ROLES), default="staff")
    password = PasswordField("Password", description=f"At least {MIN_PASSWORD_LENGTH} characters.")


class UserView(AdminModelView):
    can_edit = False
    can_view_details = False
    column_list = ("email", "role", "active", "two_factor", "created_at", "last_login_at", "state")
    column_labels = {"email": "E-mail", "two_factor": "Two-factor", "created_at": "Created",
                     "last_login_at": "Last sign-in", "state": ""}
    column_searchable_list = ("email",)
    column_sortable_list = ("email", "role", "active", "created_at", "last_login_at")
    column_default_sort = ("email", False)
    column_filters = (FilterEqual(User.role, "Role", options=[(r, r) for r in ROLES]),)
    form = UserForm

    def _state(view, context, model, name):
        own = model.id == current_actor().user_id
        css = "btn btn-sm btn-outline-secondary mr-1"
        actions = [link(view.get_url(".role_view", id=model.id), "Change role…", css),
                   link(url_for("account.index"), "Change password…", css) if own
                   else link(view.get_url(".password_reset_view", id=model.id), "Reset password…", css)]
        if model.active:
            actions.append(link(view.get_url(".deactivate_view", id=model.id), "Deactivate…",
                                "btn btn-sm btn-outline-danger"))
        else:
            actions.append(post_button(view.get_url(".reactivate_view", id=model.id), "Reactivate"))
        if model.totp_enabled_at is not None and not own:
            actions.append(link(url_for("account.two_factor_reset", id=model.id), "Reset two-factor…", css))
        return Markup("").join(actions)

    def _two_factor(view, context, model, name):
        return "on" if model.totp_enabled_at else "off"

    column_formatters = {"state": _state, "two_factor": _two_factor}

    def create_model(self, form):
        with run_core(form=form) as call:
            user = create_user(current_actor(), form.email.data or "", form.role.data, form.password.data or "")
        return False if call.failed else user

    @expose("/deactivate/", methods=("GET", "POST"))
    def deactivate_view(self):
        user = get_or_404(User, request.args.get("id"))
        back = self.get_url(".index_view")
        if request.method == "GET":
            return confirm_page(self, "Deactivate user", f"Deactivate {user.email}? They are signed out and "
                                "cannot sign in until an admin reactivates them.",
                                self.get_url(".deactivate_view", id=user.id), "Deactivate", back)
        with run_core() as call:
            set_user_active(current_actor(), user, False)
        if not call.failed:
            flash(f"{user.email} is deactivated.", "success")
        return redirect(back)

    @expose("/reactivate/", methods=("POST",))
    def reactivate_view(self):
        user = get_or_404(User, request.args.get("id"))
        set_user_active(current_actor(), user, True)
        db.session.commit()
        flash(f"{user.email} can sign in again.", "success")
        return redirect(self.get_url(".index_view"))

    @expose("/role/", methods=("GET", "POST"))
    def role_view(self):
        user = get_or_404(User, request.args.get("id"))
        back = self.get_url(".index_view")
        if request.method == "GET":
            role = request.args.get("role", "")
            if role not in ROLES or role == user.role:
                role = next(r for r in ROLES if r != user.role)
            own = ""
            if user.id == current_actor().user_id:
                own = " You will be signed out, and have the new role when you sign in again."
            return confirm_page(self, "Change role", f"Change the role of {user.email} from {user.role} to {role}? "
                                f"They are signed out of every session and have the new role when they sign in "
                                f"again.{own}", self.get_url(".role_view", id=user.id), f"Make {role}", back,
                                danger=False, hidden={"role": role})
        old = user.role
        with run_core() as call:
            change_role(current_actor(), user, request.form.get("role", ""))
        if call.failed:
            return redirect(back)
        if user.role == old:
            flash(f"{user.email} is {old} already.", "info")
        else:
            flash(f"{user.email} is now {user.role}; their sessions have ended.", "success")
        return redirect(back)

    @expose("/reset-password/", methods=("GET", "POST"))
    def password_reset_view(self):
        user = get_or_404(User, request.args.get("id"))
        back = self.get_url(".index_view")
        if user.id == current_actor().user_id:
            flash("Change your own password here: it asks for your current one.", "info")
            return redirect(url_for("account.index"))
        if request.method == "GET":
            return confirm_page(self, "Reset password", f"Give {user.email} a new password? Their current password "
                                "stops working and they are signed out of every session. The new password is shown "
                                "to you once, on the next page, to pass on to them.",
                                self.get_url(".password_reset_view", id=user.id), "Reset password", back)
        with run_core() as call:
            plain = reset_password(current_actor(), user)
        if call.failed:
            return redirect(back)
        # Like a new API key: shown on this response only, never through the session or a redirect.
        response = make_response(self.render("console/user_password_reset.html", user=user, plain=plain,
                                             return_url=back))
        response.headers["Cache-Control"] = "no-store"
        return response


def register(admin: Admin) -> None:
    admin.add_view(UserView(User, db, name="Users", endpoint="users", url="users", category=ADMIN_CATEGORY))
