"""Secure or standard: the decision ladder (docs/architecture.md) as one pure function.

Levels, most specific first: one-off message, campaign step, template, global default. Each level
holds ``secure``, ``standard`` or ``inherit`` for the mode, and ``True``, ``False`` or ``None``
(inherit) for ``require_pin``; the first level that holds a value decides. The global level never
inherits. The same ladder decides ``require_pin`` independently of the mode.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from messaging.models import LEVEL_MODES

LEVELS = ("one_off", "campaign_step", "template", "global")
AUTOMATIC_REPLY = "system"  # decided_by of confirmations and help answers: no level chose them
LEVEL_LABELS = {"one_off": "this message", "campaign_step": "campaign step", "template": "template",
                "global": "the global default"}


@dataclass(frozen=True)
class LevelChoice:
    """What one level says. ``mode`` is inherit/secure/standard; ``require_pin`` None means inherit."""

    mode: str = "inherit"
    require_pin: bool | None = None
    name: str | None = None  # shown in the reason, e.g. the template's name
    # The whole "set by …" phrase when the level is not the usual one, e.g. "broadcast 'March'"
    # for a broadcast's override at the one-off level, "campaign 'Recall' step 2" for a step.
    label: str | None = None

    def __post_init__(self):
        if self.mode not in LEVEL_MODES:
            raise ValueError(f"mode must be inherit, secure or standard, not {self.mode!r}")
        if self.require_pin not in (None, True, False):
            raise ValueError(f"require_pin must be True, False or None, not {self.require_pin!r}")


@dataclass(frozen=True)
class SituationRef:
    """The part of a situation (a row of the recommendation matrix) the ladder reads."""

    key: str
    label: str
    recommendation: str  # secure | standard | standard_opt_in
    rationale: str = ""


@dataclass(frozen=True)
class PolicyWarning:
    """Something staff should know before sending, e.g. ``secure_recommended``; stored on the message."""

    code: str
    message: str

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Decision:
    """The outcome of the ladder for one message: mode, PIN, which level decided, warnings, refusals."""

    mode: str
    require_pin: bool
    decided_by: str
    pin_decided_by: str
    decided_by_name: str | None = None
    decided_by_label: str | None = None
    recommendation: str | None = None
    situation: str | None = None
    pin_method: str | None = None
    warnings: tuple[PolicyWarning, ...] = field(default_factory=tuple)
    blocked_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)

    @property
    def reason(self) -> str:
        """E.g. ``secure — set by template 'Lab results'``."""
        if self.decided_by_label:
            return f"{self.mode} — set by {self.decided_by_label}"
        where = LEVEL_LABELS[self.decided_by]
        if self.decided_by_name and self.decided_by in ("template", "campaign_step"):
            where = f"{where} '{self.decided_by_name}'"
        return f"{self.mode} — set by {where}"

    def warning_dicts(self) -> list[dict]:
        return [w.as_dict() for w in self.warnings]

    def has_warning(self, code: str) -> bool:
        return any(w.code == code for w in self.warnings)

    def as_dict(self) -> dict:
        """The decision as the API and the console's live panel show it."""
        return {"mode": self.mode, "require_pin": self.require_pin, "decided_by": self.decided_by,
                "decided_by_name": self.decided_by_name, "pin_decided_by": self.pin_decided_by,
                "pin_method": self.pin_method, "recommendation": self.recommendation,
                "situation": self.situation, "reason": self.reason, "warnings": self.warning_dicts(),
                "blocked_by": list(self.blocked_by)}

    def with_warnings(self, extra: list[PolicyWarning], block: bool = False, code: str = "") -> Decision:
        """A copy with more warnings; ``block`` adds ``code`` to the refusals."""
        blocked = self.blocked_by + ((code,) if block and code else ())
        return Decision(**{**self.__dict__, "warnings": self.warnings + tuple(extra), "blocked_by": blocked})


def situation_ref(situation) -> SituationRef | None:
    """The ladder's view of a Situation row (anything with its attributes), or None for none."""
    if situation is None:
        return None
    return SituationRef(situation.key, situation.label, situation.recommendation, situation.rationale)


def pin_choice(value) -> bool | None:
    """A level's stored or submitted PIN choice as the ladder reads it: None (inherit), True or False.

    Accepts what templates store (``inherit``/``true``/``false``), JSON booleans and None.
    """
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("inherit", ""):
        return None
    if text in ("true", "yes"):
        return True
    if text in ("false", "no"):
        return False
    raise ValueError(f"require_pin must be inherit, true or false, not {value!r}")


def _first(levels: list[tuple[str, LevelChoice | None]], attribute: str, inherit_value):
    for name, choice in levels:
        if choice is None:
            continue
        value = getattr(choice, attribute)
        if value != inherit_value:
            return value, name, choice
    raise AssertionError("the global level always decides")  # pragma: no cover


def decide(*, default: LevelChoice, template: LevelChoice | None = None,
           campaign_step: LevelChoice | None = None, one_off: LevelChoice | None = None,
           situation: SituationRef | None = None, enforce: str = "warn", portal_enabled: bool = True,
           pin_method: str = "contact_pin", contact_has_pin: bool = True,
           contact_has_date_of_birth: bool = True, marketing_consent: bool | None = None,
           client_sets_pin: bool = False) -> Decision:
    """Decide mode and PIN for one message. Pure: no database, no clock.

    A contact without a PIN gets a one-time code instead; with ``client_sets_pin`` the message stays
    PIN-protected, so that after the code the client chooses a PIN the next messages open with.

    ``enforce='block'`` turns a secure-recommended situation sent standard into a refusal
    (``blocked_by`` holds ``secure_recommended``); the caller lets an admin override with a reason.
    """
    if default.mode == "inherit" or default.require_pin is None:
        raise ValueError("the global default must set both mode and require_pin")
    levels = [("one_off", one_off), ("campaign_step", campaign_step), ("template", template),
              ("global", default)]
    mode, decided_by, deciding = _first(levels, "mode", "inherit")
    require_pin, pin_by, _ = _first(levels, "require_pin", None)

    warnings: list[PolicyWarning] = []
    blocked: list[str] = []
    recommendation = situation.recommendation if situation else None

    if mode == "secure" and not portal_enabled:
        warnings.append(PolicyWarning("portal_disabled",
                                      "Secure messages need the client portal, which is turned off."))
        blocked.append("portal_disabled")

    if situation and recommendation == "secure" and mode == "standard":
        warnings.append(PolicyWarning(
            "secure_recommended",
            f"'{situation.label}' is recommended to be sent secure, but this message goes standard "
            f"(set by {LEVEL_LABELS[decided_by]})."))
        if enforce == "block":
            blocked.append("secure_recommended")

    if situation and recommendation == "standard_opt_in" and marketing_consent is False:
        warnings.append(PolicyWarning(
            "no_marketing_consent",
            "The contact has not opted in to marketing; the message will be suppressed."))

    effective_pin_method = None
    if mode == "secure" and require_pin:
        effective_pin_method = pin_method
        if pin_method == "contact_pin" and not contact_has_pin and client_sets_pin:
            warnings.append(PolicyWarning(
                "no_contact_pin",
                "The contact has no PIN yet; they will be sent a one-time code, then asked to choose their own PIN."))
        elif pin_method == "contact_pin" and not contact_has_pin:
            effective_pin_method = "one_time_code"
            warnings.append(PolicyWarning(
                "no_contact_pin",
                "The contact has no PIN; they will be sent a one-time code over their other channel."))
        elif pin_method == "date_of_birth" and not contact_has_date_of_birth:
            effective_pin_method = "one_time_code"
            warnings.append(PolicyWarning(
                "no_date_of_birth",
                "The contact has no date of birth on file; they will be sent a one-time code instead."))

    return Decision(mode=mode, require_pin=bool(require_pin) if mode == "secure" else False,
                    decided_by=decided_by, pin_decided_by=pin_by, decided_by_name=deciding.name,
                    decided_by_label=deciding.label,
                    recommendation=recommendation, situation=situation.key if situation else None,
                    pin_method=effective_pin_method, warnings=tuple(warnings), blocked_by=tuple(blocked))
