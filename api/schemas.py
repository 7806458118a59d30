"""Request and response bodies of API v1, declared once: they validate input, shape output and
feed the OpenAPI document (``model_json_schema``), so the document cannot drift from the code."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    WithJsonSchema,
)

from messaging.messages import SEND_AT_RANGE
from messaging.models import (
    CHANNELS,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    LEVEL_MODES,
    MESSAGE_STATUSES,
    MODES,
    PIN_SETTERS,
)
from messaging.people.consent import MAX_NOTE_LENGTH
from messaging.people.contacts import (
    LANGUAGES,
    MAX_FORM_BYTES,
    MAX_FORM_KEY_LENGTH,
    MAX_FORM_KEYS,
    MAX_FORM_TEXT_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
)
from messaging.policy.decision import LEVELS
from messaging.security.pins import InvalidPin, validate_pin

# --- shared field types ---


def _iso_utc(value: datetime) -> str:
    """Stored times are naive UTC; the API says so with a 'Z'."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


UtcDateTime = Annotated[
    datetime,
    PlainSerializer(_iso_utc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "ISO 8601, UTC, with 'Z'",
                    "examples": ["2025-01-31T14:05:00Z"]}, mode="serialization"),
]


def _to_naive_utc(value: datetime) -> datetime:
    # A zone is converted; a naive time is taken as UTC already (documented on the field).
    if value.tzinfo is not None:
        try:
            return value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1 in UTC
            raise ValueError(SEND_AT_RANGE) from None
    return value


SendAt = Annotated[datetime, AfterValidator(_to_naive_utc)]

THREE_VALUED_STRINGS = {"true": True, "false": False, "inherit": None}


def _three_valued(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in THREE_VALUED_STRINGS:
        return THREE_VALUED_STRINGS[value.strip().lower()]
    raise ValueError('must be true, false, null or "inherit" (the strings "true" and "false" are accepted too)')


ThreeValued = Annotated[
    bool | None,
    PlainValidator(_three_valued),
    WithJsonSchema({
        "anyOf": [{"type": "boolean"}, {"type": "null"}, {"type": "string", "enum": ["true", "false", "inherit"]}],
        "description": "Three-valued: true or false decide for this message; null or \"inherit\" leave it to "
                       "the campaign step, template or global default.",
    }, mode="validation"),
]


def _template_pin(value: Any) -> str:
    choice = _three_valued(value)
    return "inherit" if choice is None else ("true" if choice else "false")


TemplatePinIn = Annotated[
    str,
    PlainValidator(_template_pin),
    WithJsonSchema({
        "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["inherit", "true", "false"]}, {"type": "null"}],
        "description": "inherit, true or false (JSON booleans or the strings; null means inherit).",
    }, mode="validation"),
]


def _template_pin_out(value: str) -> bool | str:
    return {"true": True, "false": False}.get(value, "inherit")


TemplatePinOut = Annotated[
    str,
    PlainSerializer(_template_pin_out, when_used="json"),
    WithJsonSchema({"anyOf": [{"type": "boolean"}, {"type": "string", "const": "inherit"}],
                    "description": "true, false or \"inherit\"."}, mode="serialization"),
]


def _pin(value: Any) -> str:
    try:
        return validate_pin(value)
    except InvalidPin as exc:
        raise ValueError(str(exc)) from None


Pin = Annotated[
    str,
    BeforeValidator(_pin),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{4,8}$", "writeOnly": True,
                    "description": "4 to 8 digits, as a string (leading zeros matter). Never returned."},
                   mode="validation"),
]


def _optional_pin(value: Any) -> str | None:
    return None if value in (None, "") else _pin(value)


OptionalPin = Annotated[
    str | None,
    PlainValidator(_optional_pin),
    WithJsonSchema({"anyOf": [{"type": "string", "pattern": "^[0-9]{4,8}$"}, {"type": "null"}], "writeOnly": True,
                    "description": "4 to 8 digits, as a string. Stored as a slow hash and never returned."},
                   mode="validation"),
]


class Body(BaseModel):
    """A request body: unknown fields are refused, so a misspelt field never passes silently."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body, read from the core's objects by attribute."""

    model_config = ConfigDict(from_attributes=True)


# --- errors ---


class ErrorDetail(BaseModel):
    """What went wrong, for a person and for a program."""

    code: str = Field(description="Machine-readable, e.g. invalid, not_found, unauthorized, forbidden, "
                                  "portal_disabled, blocked_by_policy, rate_limited, invalid_json.")
    message: str = Field(description="A sentence a person can act on.")
    fields: dict[str, str] = Field(default_factory=dict, description="Per input field, what is wrong with it.")


class ErrorOut(BaseModel):
    """Every error response: one ``error`` object."""

    error: ErrorDetail


# --- contacts ---


def _flat(value: Any) -> dict[str, Any]:
    # Rows stored before form data had to be flat may hold nested values, however deep: answer them as
    # their JSON text (as the hardening migration rewrote them) rather than fail to serialise the contact.
    if not isinstance(value, dict):
        return {}
    flat = {}
    for key, item in value.items():
        if isinstance(item, dict | list):
            try:
                item = json.dumps(item, ensure_ascii=False)
            except (RecursionError, ValueError):
                item = "(nested too deeply to show)"
        flat[str(key)] = item
    return flat


FormValue = str | int | float | bool | None
FLAT_OBJECT_SCHEMA = {"type": "object", "maxProperties": MAX_FORM_KEYS,
                      "propertyNames": {"maxLength": MAX_FORM_KEY_LENGTH},
                      "additionalProperties": {"anyOf": [{"type": "string", "maxLength": MAX_FORM_TEXT_LENGTH},
                                                         {"type": "number"}, {"type": "boolean"}, {"type": "null"}]}}
# The core checks the limits and says which one is broken; the schema documents them.
FormDataIn = Annotated[dict[str, Any], WithJsonSchema(FLAT_OBJECT_SCHEMA, mode="validation")]
StoredFormData = Annotated[dict[str, FormValue], BeforeValidator(_flat)]


_CONTACT_FIELD_DOCS = {
    "last_name": "At most 100 characters.",
    "phone": "Any common form; stored in E.164.",
    "tags": f"Words; stored lower-case, sorted, without duplicates. At most {MAX_TAGS} tags of at most "
            f"{MAX_TAG_LENGTH} characters each.",
    "form_data": f"Free-form fields templates may use, e.g. appointment_date. A flat object: at most "
                 f"{MAX_FORM_KEYS} keys of at most {MAX_FORM_KEY_LENGTH} characters; each value text (at "
                 f"most {MAX_FORM_TEXT_LENGTH:,} characters), a number, a boolean or null; at most "
                 f"{MAX_FORM_BYTES // 1024} KB as JSON. Nested objects and lists are refused.",
    "language": f"One of {', '.join(LANGUAGES)} (any case); default en.",
    "timezone": "An IANA zone, e.g. Europe/Madrid. Missing on create: the phone number's zone when it has "
                "exactly one, else null (the organisation's zone is used).",
    "date_of_birth": "YYYY-MM-DD, not in the future.",
    "sms_consent": "Writes an sms transactional grant (true) or withdrawal (false) to the consent ledger, "
                   "only when it changes the state.",
    "marketing_consent": "Writes marketing grants (true) or withdrawals (false) on sms, email and voice to "
                         "the consent ledger, only where it changes the state.",
}


class ContactIn(Body):
    """A contact to create."""

    first_name: str = Field(description="Required, at most 100 characters.")
    last_name: str | None = Field(None, description=_CONTACT_FIELD_DOCS["last_name"])
    phone: str | None = Field(None, description=_CONTACT_FIELD_DOCS["phone"], examples=["+14155550123"])
    email: str | None = None
    tags: list[str] | None = Field(None, description=_CONTACT_FIELD_DOCS["tags"])
    form_data: FormDataIn | None = Field(None, description=_CONTACT_FIELD_DOCS["form_data"])
    language: str | None = Field(None, description=_CONTACT_FIELD_DOCS["language"], examples=["es"])
    timezone: str | None = Field(None, description=_CONTACT_FIELD_DOCS["timezone"], examples=["America/New_York"])
    date_of_birth: str | None = Field(None, description=_CONTACT_FIELD_DOCS["date_of_birth"],
                                      examples=["1984-03-14"])
    sms_consent: bool | None = Field(None, description=_CONTACT_FIELD_DOCS["sms_consent"])
    marketing_consent: bool | None = Field(None, description=_CONTACT_FIELD_DOCS["marketing_consent"])
    pin: OptionalPin = None


class ContactPatch(Body):
    """Changes to a contact: only the fields given change (null tags or form_data change nothing; the PIN
    changes through PUT /contacts/{id}/pin)."""

    first_name: str | None = Field(None, description="At most 100 characters; cannot be emptied.")
    last_name: str | None = Field(None, description=_CONTACT_FIELD_DOCS["last_name"])
    phone: str | None = Field(None, description=_CONTACT_FIELD_DOCS["phone"] + " null removes it.")
    email: str | None = Field(None, description="null removes it.")
    tags: list[str] | None = Field(None, description="Replaces the list. " + _CONTACT_FIELD_DOCS["tags"])
    form_data: FormDataIn | None = Field(
        None, description="Merged into the stored fields: each key given replaces or adds that field, a key set "
                          "to null deletes it, keys not given stay. The result must keep the limits: "
                          + _CONTACT_FIELD_DOCS["form_data"])
    language: str | None = Field(None, description=_CONTACT_FIELD_DOCS["language"])
    timezone: str | None = Field(None, description="An IANA zone; null removes it (the organisation's zone is "
                                                   "used).")
    date_of_birth: str | None = Field(None, description=_CONTACT_FIELD_DOCS["date_of_birth"] + " null removes it.")
    sms_consent: bool | None = Field(None, description=_CONTACT_FIELD_DOCS["sms_consent"])
    marketing_consent: bool | None = Field(None, description=_CONTACT_FIELD_DOCS["marketing_consent"])


class PurposesOut(BaseModel):
    """The current state of both purposes on one channel (the latest ledger row, else the default)."""

    transactional: bool = Field(description="Granted unless withdrawn: with no ledger row, true.")
    marketing: bool = Field(description="Withdrawn unless granted: with no ledger row, false.")


class ConsentMapOut(BaseModel):
    """The current consent per channel and purpose."""

    sms: PurposesOut
    email: PurposesOut
    voice: PurposesOut


class ContactOut(Out):
    """A contact as the API shows it (never the PIN). The consent fields derive from the ledger."""

    id: int
    first_name: str
    last_name: str
    phone: str | None
    email: str | None
    tags: list[str]
    form_data: StoredFormData
    language: str
    timezone: str | None = Field(description="IANA zone; null: the organisation's zone is used.")
    date_of_birth: date | None = Field(description="YYYY-MM-DD.")
    consent: ConsentMapOut
    sms_consent: bool = Field(description="The sms transactional state.")
    sms_consent_at: UtcDateTime | None = Field(description="When that state was recorded; null: the default.")
    marketing_consent: bool = Field(description="Marketing granted on at least one channel.")
    marketing_consent_at: UtcDateTime | None = Field(description="The time of the latest marketing row.")
    marketing_consent_source: str | None = Field(description="The source of the latest marketing row.")
    opted_out_at: UtcDateTime | None = Field(description="When sms transactional consent was withdrawn (STOP), "
                                                         "while that withdrawal stands.")
    has_pin: bool = Field(description="Whether a PIN is set; the PIN itself is never returned.")
    pin_set_by: Literal[PIN_SETTERS] | None = Field(
        description="Who set the PIN: `client` (chosen on the secure page after a one-time code) or `staff` "
                    "(console or API); null without a PIN.")
    pin_set_at: UtcDateTime | None = Field(description="When the PIN was set; null without a PIN.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ConsentIn(Body):
    """One grant or withdrawal to record in a contact's consent ledger."""

    channel: Literal[CONSENT_CHANNELS]
    purpose: Literal[CONSENT_PURPOSES]
    granted: StrictBool = Field(description="true grants, false withdraws (JSON booleans only).")
    note: str | None = Field(None, max_length=MAX_NOTE_LENGTH, description="Why, for the people who read the "
                                                                           "history.")


class ConsentEntryOut(Out):
    """One row of the consent ledger. Rows are never edited or deleted."""

    id: int
    channel: Literal[CONSENT_CHANNELS]
    purpose: Literal[CONSENT_PURPOSES]
    granted: bool
    source: str = Field(description=f"One of {', '.join(CONSENT_SOURCES)}.")
    actor: str = Field(description="Who recorded it: a user's e-mail address, api-key:NAME, sms-keyword, ...")
    note: str | None
    at: UtcDateTime


class ConsentListOut(BaseModel):
    """A contact's consent ledger, newest first."""

    entries: list[ConsentEntryOut]


class PinIn(Body):
    """A new PIN for a contact."""

    pin: Pin


# --- messages ---


MAX_ID = 2**31 - 1  # the database's integer range; larger ids cannot exist


class MessageIn(Body):
    """A message to send (or to preview)."""

    contact_id: int = Field(ge=1, le=MAX_ID)
    channel: Literal[CHANNELS] = Field(
        description="voice: a call speaks standard content; for a secure message it only says one is waiting, "
                    "and the link follows by SMS.")
    template: str | None = Field(None, description="A template's slug; its body is used when no body is given.")
    body: str | None = Field(None, description="Free text (at most 10,000 characters); required without template.")
    subject: str | None = Field(None, description="E-mail subject; defaults to the template's.")
    situation: str | None = Field(None, description="A situation key of the recommendation matrix, e.g. healthcare; "
                                                    "defaults to the template's.")
    secure: ThreeValued = None
    require_pin: ThreeValued = None
    send_at: SendAt | None = Field(None, description="ISO 8601. A time with a zone is converted to UTC; a time "
                                                     "without one is taken as UTC. Past or absent: send now.")
    override_reason: str | None = Field(None, description="Admin keys only: the audited reason to send a message "
                                                          "that the recommendation policy blocks.")
    expire_after_view: bool | None = Field(None, description="Secure messages: the link dies once the client has "
                                                             "read the message. Absent or null: the template's choice.")


class WarningOut(BaseModel):
    """A policy warning on a decision or a template."""

    code: str
    message: str


class EventOut(Out):
    """Something that happened to a message, and when."""

    kind: str
    at: UtcDateTime


MODE = Literal[MODES]
LEVEL = Literal[LEVELS]


class AttachmentOut(BaseModel):
    """A file on a secure message; its type was read from its content."""

    id: str = Field(description="The attachment's public id.")
    filename: str
    media_type: str = Field(description="Detected from the content, e.g. application/pdf.")
    size_bytes: int


class MessageOut(Out):
    """A message's status and decision. Never its content."""

    id: str = Field(description="The message's public id.")
    contact_id: int
    channel: str
    mode: MODE
    require_pin: bool
    pin_method: str | None = Field(description="contact_pin or one_time_code when a PIN is required.")
    decided_by: LEVEL | None
    reason: str | None = Field(description="E.g. \"secure — set by template 'Lab results'\".")
    recommendation: str | None = Field(description="The situation's recommendation: secure, standard or "
                                                   "standard_opt_in.")
    situation: str | None
    template: str | None = Field(description="The template's slug.")
    warnings: list[WarningOut]
    status: Literal[MESSAGE_STATUSES]
    suppressed_reason: str | None = Field(description="Why the message was not sent (status suppressed).")
    created_at: UtcDateTime
    send_at: UtcDateTime | None
    expires_at: UtcDateTime | None = Field(description="When a secure message's link stops working.")
    viewed_at: UtcDateTime | None = Field(description="When the client first read a secure message.")
    revoked_at: UtcDateTime | None
    locked_until: UtcDateTime | None = Field(description="Set while wrong PINs keep the message locked.")
    events: list[EventOut] = Field(description="Every step of the message's life, oldest first.")
    attachments: list[AttachmentOut] = Field(default_factory=list, description="Files on a secure message.")


class PreviewOut(BaseModel):
    """What would happen, without sending or storing anything."""

    mode: MODE
    require_pin: bool
    pin_method: str | None
    decided_by: LEVEL
    pin_decided_by: LEVEL
    reason: str
    recommendation: str | None
    situation: str | None
    warnings: list[WarningOut]
    blocked: bool = Field(description="Whether sending would be refused (portal off, or recommendation policy "
                                      "`block`; an admin key may override the latter with override_reason).")
    blocked_by: list[str]
    client_text: str = Field(description="Exactly what the client receives; for secure, the generic notice "
                                         "with a placeholder link.")
    subject: str | None = Field(description="The e-mail subject the client sees (e-mail only).")
    suppressed_reason: str | None = Field(description="Set when the message would be suppressed (opted out, "
                                                      "marketing without opt-in).")


class ThreadMessageOut(BaseModel):
    """One message of a contact's thread, content included."""

    id: str
    direction: Literal["out", "in"]
    mode: str
    channel: str
    status: str
    created_at: UtcDateTime
    viewed_at: UtcDateTime | None
    subject: str | None
    body: str | None
    content_destroyed_at: UtcDateTime | None = Field(
        None, description="When the content was destroyed (subject and body are then null).")
    content_destroyed_reason: Literal["retention", "erasure"] | None = None


class ThreadOut(BaseModel):
    """A contact's conversation."""

    contact_id: int
    messages: list[ThreadMessageOut] = Field(description="Oldest first. Reading the thread is audited.")


# --- templates ---


class TemplateIn(Body):
    """A template to create."""

    name: str
    slug: str = Field(description="Unique; lower-case letters, digits and single hyphens, e.g. lab-results.")
    channel: Literal[CHANNELS]
    subject: str | None = Field(None, description="E-mail templates only.")
    body: str = Field(description="Jinja (sandboxed): first_name, last_name, org_name, form.<field> and "
                                  "appointment_<field> from the contact's form data.")
    situation: str | None = Field(None, description="A situation key, e.g. healthcare.")
    mode: Literal[LEVEL_MODES] = "inherit"
    require_pin: TemplatePinIn = "inherit"
    notification_text: str | None = Field(None, description="The secure notice; must contain {{ link }} and may "
                                                            "use only org_name and first_name.")
    override_reason: str | None = Field(None, description="Needed when policy `block` refuses a mode that "
                                                          "contradicts the situation's recommendation.")
    link_ttl_hours: int | None = Field(None, description="How long a secure link from this template works, within "
                                                         "the organisation's link_ttl_min_hours..link_ttl_max_hours; "
                                                         "null: the organisation's link_ttl_hours.")
    expire_after_view: bool = Field(False, description="The link dies once the client has read the message.")


class TemplateOut(Out):
    """A template, with the warnings it was saved with."""

    id: int
    name: str
    slug: str
    channel: str
    subject: str | None
    body: str
    situation: str | None
    mode: Literal[LEVEL_MODES]
    require_pin: TemplatePinOut
    notification_text: str | None
    link_ttl_hours: int | None = None
    expire_after_view: bool = False
    created_at: UtcDateTime
    updated_at: UtcDateTime
    warnings: list[WarningOut] = Field(default_factory=list, description="Set when the template was saved "
                                                                         "against a recommendation.")


class TemplateListOut(BaseModel):
    """Every template."""

    templates: list[TemplateOut]


# --- meta ---


class OpenApiDocumentOut(BaseModel):
    """The OpenAPI 3.1 document of this API."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]
