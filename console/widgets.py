"""Small pieces of HTML several console pages share: a link, a one-button POST form, a confirmation page."""
from __future__ import annotations

from flask_wtf.csrf import generate_csrf
from markupsafe import Markup


def post_button(url: str, label: str, css: str = "btn-outline-secondary", **hidden) -> Markup:
    """A one-button POST form carrying the CSRF token (the global CSRFProtect checks every POST)."""
    fields = Markup("").join(Markup('<input type="hidden" name="{}" value="{}">').format(k, v)
                             for k, v in hidden.items())
    return Markup(
        '<form method="post" action="{url}" class="d-inline">'
        '<input type="hidden" name="csrf_token" value="{token}">{fields}'
        '<button type="submit" class="btn btn-sm {css}">{label}</button></form>'
    ).format(url=url, token=generate_csrf(), fields=fields, css=css, label=label)


def link(url: str, label: str, css: str = "") -> Markup:
    """An ``<a>`` with its label escaped."""
    return Markup('<a href="{}" class="{}">{}</a>').format(url, css, label)


def confirm_page(view, title: str, question: str, action_url: str, button: str, cancel_url: str,
                 danger: bool = True, hidden: dict | None = None):
    """The page that asks before a change: the question, a POST button to ``action_url``, and Cancel."""
    return view.render("console/confirm.html", title=title, question=question, action_url=action_url,
                       button=button, cancel_url=cancel_url, danger=danger, hidden=hidden)
