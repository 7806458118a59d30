"""The signed-in user's own account: change their password (current password, new one twice).

Reached from the user's e-mail in the menu bar (admin/console_base.html), not from the menu. The
change ends every other session of the user; this one carries on with the new session version.
"""
from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import Admin, expose
from flask_login import current_user

from extensions import limiter
from messaging.people.users import MIN_PASSWORD_LENGTH, change_own_password

from .auth import account_limit, keep_session
from .base import SecureView, current_actor
from .core_calls import run_core


def _this_user() -> str:
    return f"password-change:{current_user.get_id()}"


def _refused(response) -> bool:
    return response.status_code == 422


class AccountView(SecureView):
    def is_visible(self) -> bool:
        return False  # the menu bar's e-mail link leads here

    # The form checks the current password: wrong guesses share the per-account sign-in budget,
    # so a borrowed session cannot be used to try passwords without end.
    @expose("/", methods=("GET", "POST"))
    @limiter.limit(account_limit, key_func=_this_user, methods=["POST"], deduct_when=_refused)
    def index(self):
        errors: dict[str, str] = {}
        if request.method == "POST":
            user = current_user._get_current_object()
            with run_core(flash_error=False) as call:
                version = change_own_password(current_actor(), user, request.form.get("current_password", ""),
                                              request.form.get("new_password", ""),
                                              request.form.get("confirm_password", ""))
            if not call.failed:
                keep_session(version)
                flash("Your password is changed. Every other session of yours has been signed out.", "success")
                return redirect(self.get_url(".index"))
            errors = call.fields
        return self.render("console/account_password.html", errors=errors,
                           min_length=MIN_PASSWORD_LENGTH), 422 if errors else 200


def register(admin: Admin) -> None:
    admin.add_view(AccountView(name="Your account", endpoint="account", url="account"))
