"""Organisation-wide settings: the one Settings row, and validated changes to it."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from messaging.audit import Actor, audit
from messaging.db import db
from messaging.models import Settings

MAX_TERMS = 300  # words in Settings.sensitive_terms
MAX_TERM_LENGTH = 100


class InvalidSetting(ValueError):
    """A setting's value that cannot be used; the message says what would."""


def get_settings() -> Settings:
    """The settings row, created with defaults on first use."""
    row = db.session.get(Settings, 1)
    if row is None:
        row = Settings(id=1)
        db.session.add(row)
        db.session.flush()
    return row


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise InvalidSetting("must be true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(str(text).strip())
        except ValueError:
            raise InvalidSetting(f"must be a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise InvalidSetting(f"must be a whole number from {low} to {high}")
        return value
    return parse


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = str(text).strip()
        if value not in options:
            raise InvalidSetting("must be one of: " + ", ".join(options))
        return value
    return parse


def _text(max_length: int, allow_empty: bool = False) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = str(text).strip()
        if not value and not allow_empty:
            raise InvalidSetting("must not be empty")
        if len(value) > max_length:
            raise InvalidSetting(f"must be at most {max_length} characters")
        return value
    return parse


def _color(text: str) -> str:
    value = str(text).strip()
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise InvalidSetting("must be a colour like #1f5f8b")
    return value.lower()


def parse_hour_ladder(text: str) -> list[int]:
    """``"24, 72"`` → ``[24, 72]``; empty means never. Strictly increasing, 1 to 2160 hours."""
    value = str(text).strip()
    if not value:
        return []
    hours = []
    for part in value.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= 2160:
            raise InvalidSetting("must be comma-separated hours from 1 to 2160, e.g. 24, 72 (empty: never)")
        hours.append(int(part))
    if hours != sorted(set(hours)):
        raise InvalidSetting("hours must increase, e.g. 24, 72")
    return hours


def _ladder(text: str) -> str:
    return ", ".join(str(h) for h in parse_hour_ladder(text))


QUIET_PATTERN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


def _quiet_hours(text: str) -> str:
    value = str(text).strip().replace(" ", "").replace("–", "-")
    if value and not QUIET_PATTERN.match(value):
        raise InvalidSetting("must look like 21:00-08:00, or be empty for none")
    if value and value[:5] == value[6:]:
        raise InvalidSetting("start and end must differ")
    return value


def _timezone(text: str) -> str:
    value = str(text).strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSetting("must be an IANA time zone such as Europe/London or America/New_York") from None
    return value


CAP_WINDOWS = {"day": 1, "week": 7}  # rolling windows, in days
CAP_HELP = "must look like 1/day,3/week (a number per day or week), or be empty for none"


def parse_frequency_cap(text: str | None) -> list[tuple[int, str]]:
    """``"1/day,3/week"`` → ``[(1, "day"), (3, "week")]``; empty means no cap."""
    value = str(text or "").strip().replace(" ", "")
    if not value:
        return []
    limits, seen = [], set()
    for part in value.split(","):
        count, _, window = part.partition("/")
        window = window.lower()
        if not count.isdigit() or not 1 <= int(count) <= 1000 or window not in CAP_WINDOWS or window in seen:
            raise InvalidSetting(CAP_HELP)
        seen.add(window)
        limits.append((int(count), window))
    return limits


def _frequency_cap(text: str) -> str:
    return ",".join(f"{count}/{window}" for count, window in parse_frequency_cap(text))


def parse_terms(text: str | Iterable[str] | None) -> list[str]:
    """The sensitive-word list as terms: comma or newline separated, trimmed, without duplicates."""
    if text is None:
        return []
    parts = re.split(r"[,\n]", text) if isinstance(text, str) else list(text)
    terms, seen = [], set()
    for part in parts:
        term = " ".join(str(part).split())
        if term and term.lower() not in seen:
            seen.add(term.lower())
            terms.append(term)
    return terms


def _terms(text: str) -> str:
    terms = parse_terms(str(text))
    if len(terms) > MAX_TERMS:
        raise InvalidSetting(f"must list at most {MAX_TERMS} words")
    too_long = [t for t in terms if len(t) > MAX_TERM_LENGTH]
    if too_long:
        raise InvalidSetting(f"each word must be at most {MAX_TERM_LENGTH} characters")
    return ", ".join(terms)


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key, how a typed value is parsed and checked, and a help line."""

    key: str
    parse: Callable[[str], object]
    help: str


SETTING_SPECS: dict[str, SettingSpec] = {s.key: s for s in [
    SettingSpec("org_name", _text(200), "organisation name shown to clients"),
    SettingSpec("brand_color", _color, "colour of the client pages, e.g. #1f5f8b"),
    SettingSpec("default_mode", _choice("secure", "standard"), "secure or standard"),
    SettingSpec("require_pin", _bool, "true or false"),
    SettingSpec("pin_method", _choice("contact_pin", "one_time_code", "date_of_birth"),
                "contact_pin, one_time_code or date_of_birth"),
    SettingSpec("link_ttl_hours", _int_between(1, 90 * 24), "link lifetime in hours (1 to 2160)"),
    SettingSpec("link_ttl_min_hours", _int_between(1, 90 * 24),
                "shortest link lifetime a template may choose, in hours (1 to 2160)"),
    SettingSpec("link_ttl_max_hours", _int_between(1, 90 * 24),
                "longest link lifetime a template may choose, in hours (1 to 2160)"),
    SettingSpec("max_pin_attempts", _int_between(1, 20), "wrong PINs before a lock (1 to 20)"),
    SettingSpec("lockout_minutes", _int_between(1, 24 * 60), "minutes a lock lasts (1 to 1440)"),
    SettingSpec("portal_enabled", _bool, "true or false"),
    SettingSpec("replies_allowed", _bool, "true or false"),
    SettingSpec("enforce_recommendations", _choice("warn", "block"), "warn or block"),
    SettingSpec("renotify_hours", _ladder, "hours after which an unread secure message is re-notified"),
    SettingSpec("quiet_hours", _quiet_hours, "e.g. 21:00-08:00, empty for none"),
    SettingSpec("timezone", _timezone, "IANA time zone of the organisation"),
    SettingSpec("retention_days", _int_between(0, 3650),
                "days to keep message content (0 keeps it for ever); then it is destroyed: a secure message's "
                "N days after its link expires (replies and files with it), a standard or inbound text's "
                "N days after sending"),
    SettingSpec("session_idle_minutes", _int_between(5, 24 * 60), "console idle timeout in minutes"),
    SettingSpec("client_sets_pin", _bool,
                "true or false: a client without a PIN chooses one after a one-time code (false: only staff set PINs)"),
    SettingSpec("office_contact", _text(200, allow_empty=True),
                "how clients reach the office (phone, e-mail), shown in the secure pages' first-time explanation"),
    SettingSpec("two_factor", _choice("off", "admins", "all"),
                "who must sign in with a TOTP code too: off, admins or all"),
    SettingSpec("frequency_cap", _frequency_cap,
                "broadcast and campaign messages per contact, e.g. 1/day,3/week (rolling); empty for none"),
    SettingSpec("viewer_session_minutes", _int_between(1, 24 * 60),
                "minutes a verified client stays verified while idle (1 to 1440)"),
    SettingSpec("attachment_max_mb", _int_between(1, 50), "largest attachment in MB (1 to 50)"),
    SettingSpec("client_attachments", _bool, "true or false: clients may attach files to replies"),
    SettingSpec("notice_text_en", _text(500, allow_empty=True),
                "the secure notice to English-speaking contacts; {{ org_name }}, {{ first_name }} and {{ link }}; "
                "a template's own notification text wins (empty: the built-in text)"),
    SettingSpec("notice_text_es", _text(500, allow_empty=True),
                "the secure notice to Spanish-speaking contacts; {{ org_name }}, {{ first_name }} and {{ link }}; "
                "a template's own notification text wins (empty: the built-in text)"),
    SettingSpec("sensitive_terms", _terms, "words that make a standard message look protected, comma-separated"),
]}


def parse_setting(key: str, raw: str) -> object:
    """A typed value for one setting, parsed and checked; InvalidSetting naming the key otherwise."""
    spec = SETTING_SPECS.get(key)
    if spec is None:
        raise InvalidSetting(f"unknown setting {key!r}; known: {', '.join(SETTING_SPECS)}")
    try:
        return spec.parse(raw)
    except InvalidSetting as exc:
        raise InvalidSetting(f"{key} {exc}") from None


def check_combination(values: dict) -> None:
    """Refuse settings that contradict each other once applied together."""
    if values.get("default_mode") == "secure" and values.get("portal_enabled") is False:
        raise InvalidSetting(
            "portal_enabled cannot be false while default_mode is secure: secure messages are read in the "
            "portal. Set default_mode to standard first (or together).")
    low, high, ttl = values.get("link_ttl_min_hours"), values.get("link_ttl_max_hours"), values.get("link_ttl_hours")
    if low is not None and high is not None and low > high:
        raise InvalidSetting("link_ttl_min_hours cannot be more than link_ttl_max_hours.")
    if ttl is not None and low is not None and high is not None and not low <= ttl <= high:
        raise InvalidSetting(f"link_ttl_hours must lie between link_ttl_min_hours ({low}) and "
                             f"link_ttl_max_hours ({high}).")


def change_setting(actor: Actor, key: str, raw) -> tuple[object, object]:
    """Validate and apply one change, auditing old and new values. Returns (old, new)."""
    value = parse_setting(key, raw)
    row = get_settings()
    check_combination({**settings_as_dict(row), key: value})
    old = getattr(row, key)
    if old != value:
        setattr(row, key, value)
        audit(actor, "settings.change", "settings", key, key=key, old=old, new=value)
    return old, value


def settings_as_dict(row: Settings | None = None) -> dict:
    """Every setting's current value, by key."""
    row = row or get_settings()
    return {key: getattr(row, key) for key in SETTING_SPECS}
