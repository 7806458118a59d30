"""What every viewer page shares: the page context, times in plain words, the neutral 404, notices."""
from __future__ import annotations

from datetime import datetime

from flask import render_template, request
from flask_babel import format_date, gettext

from messaging import clock
from messaging.client.access import resolve_link
from messaging.settings import get_settings

from .blueprint import bp
from .language import use_language


def client_ip() -> str | None:
    return request.remote_addr


def human_time(moment: datetime) -> str:
    """E.g. ``14:35 UTC on 3 March 2025`` (stored times are naive UTC), in the page's language."""
    return gettext("%(time)s UTC on %(day)d %(month)s %(year)d", time=moment.strftime("%H:%M"), day=moment.day,
                   month=format_date(moment, "MMMM"), year=moment.year)


def minutes_from_now(moment: datetime) -> int:
    return max(1, round((moment - clock.utcnow()).total_seconds() / 60))


@bp.app_template_filter("viewer_time")
def _viewer_time(moment: datetime) -> str:
    return human_time(moment)


@bp.context_processor
def _page_context() -> dict:
    settings = get_settings()
    return {"org_name": settings.org_name, "has_logo": settings.logo is not None}


def not_found() -> tuple[str, int]:
    """The one page for a tampered, truncated or unknown link: it must not say which."""
    return render_template("viewer/not_found.html", page_state="not_found"), 404


def notice(title: str, text: str, status: int, token: str | None = None, state: str = "notice") -> tuple[str, int]:
    return render_template("viewer/notice.html", title=title, text=text, token=token, state=state,
                           page_state=state), status


@bp.errorhandler(429)
def _too_many(_error):
    # The limiter answers before any view has resolved the link: find its contact's language here.
    token = (request.view_args or {}).get("token")
    message = resolve_link(token) if token else None
    if message is not None:
        use_language(message.contact.language)
    return notice(gettext("Please wait a moment"),
                  gettext("There were too many attempts from this device. Wait a minute, then try again."), 429,
                  state="too_many")
