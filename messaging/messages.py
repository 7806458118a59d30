"""Creating outbound messages: decide, render, encrypt, queue. One path for console, API and CLI."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app

from messaging import clock
from messaging.audit import Actor, audit
from messaging.db import db
from messaging.errors import Conflict, NotFound, PolicyRefused, ValidationFailed
from messaging.events import record_event
from messaging.models import CHANNELS, Contact, Delivery, Message, Situation, Template
from messaging.people.consent import has_consent
from messaging.policy.content_check import check_standard_content
from messaging.policy.decision import Decision, LevelChoice, decide, pin_choice, situation_ref
from messaging.policy.link_lifetime import expires_after_view, link_expiry
from messaging.policy.optout import marketing_reason, withdrawn_reason
from messaging.privacy.guard import refuse_erased
from messaging.rendering.outgoing import ClientFacts, notice_source, preview_text
from messaging.rendering.text import body_context, render_text
from messaging.security.crypto import decrypt_content, encrypt_content, keyring
from messaging.security.tokens import make_link_token
from messaging.settings import get_settings

LINK_PLACEHOLDER = "…"  # stands in for the token in a preview's link: the real one exists only at send
# A send_at a little in the past (a slow client, a clock that lags) means "now"; further back or
# further ahead is a mistake, and a far-off year would overflow the link's expiry.
SEND_AT_GRACE = timedelta(hours=1)
SEND_AT_HORIZON = timedelta(days=365)
SEND_AT_RANGE = "must be at most 1 hour in the past and at most 365 days ahead (UTC)"


def send_at_problem(send_at: datetime | None, now: datetime | None = None) -> str | None:
    """Why ``send_at`` (naive UTC) cannot be used, or None; the sentence names the accepted range."""
    if send_at is None:
        return None
    if send_at.tzinfo is not None:
        return "must be converted to UTC first"
    now = now or clock.utcnow()
    if not now - SEND_AT_GRACE <= send_at <= now + SEND_AT_HORIZON:
        return SEND_AT_RANGE
    return None


@dataclass
class MessageRequest:
    """Everything a caller may ask for one message. ``secure``/``require_pin`` None = decide."""

    contact: Contact
    channel: str
    body: str | None = None
    subject: str | None = None
    template: Template | None = None
    situation: Situation | None = None
    secure: bool | None = None
    require_pin: bool | None = None
    send_at: datetime | None = None
    override_reason: str | None = None
    campaign_step: LevelChoice | None = None
    one_off_label: str | None = None  # e.g. "broadcast 'March'": a broadcast's override is the one-off level
    extra_warnings: list = field(default_factory=list)
    expire_after_view: bool | None = None  # None: the template's choice


@dataclass
class Preview:
    """What a message would be: its decision, the client's text (as ``rendering.outgoing`` sends it), its content."""

    decision: Decision
    subject: str | None  # what the client's inbox shows as subject (e-mail only)
    client_text: str  # exactly what the client will receive in the SMS / e-mail body
    content_subject: str | None
    content_body: str
    suppressed_reason: str | None


def address_for(contact: Contact, channel: str) -> str | None:
    """Where a message on ``channel`` goes: the contact's e-mail address or phone number."""
    return contact.email if channel == "email" else contact.phone


def decide_for(request: MessageRequest) -> Decision:
    """The decision for this request (level, PIN, warnings), with the content check of standard text."""
    settings = get_settings()
    template = request.template
    situation = request.situation or (template.situation if template else None)
    one_off = LevelChoice(
        mode="inherit" if request.secure is None else ("secure" if request.secure else "standard"),
        require_pin=request.require_pin, label=request.one_off_label)
    template_level = None
    if template is not None:
        pin = pin_choice(template.require_pin)
        template_level = LevelChoice(template.mode, pin, name=template.name)
    decision = decide(
        default=LevelChoice(settings.default_mode, bool(settings.require_pin)),
        template=template_level, campaign_step=request.campaign_step, one_off=one_off,
        situation=situation_ref(situation), enforce=settings.enforce_recommendations,
        portal_enabled=settings.portal_enabled, pin_method=settings.pin_method,
        contact_has_pin=request.contact.has_pin, contact_has_date_of_birth=request.contact.date_of_birth is not None,
        marketing_consent=has_consent(request.contact, request.channel, "marketing"),
        client_sets_pin=settings.client_sets_pin)
    return _check_content(request, decision, settings)


def _check_content(request: MessageRequest, decision: Decision, settings) -> Decision:
    """Before a message goes out standard, look for protected data in its rendered text."""
    if decision.mode != "standard" or (request.template is None and not (request.body or "").strip()):
        return decision
    try:
        subject, body = render_content(request, settings.org_name)
    except ValidationFailed:
        return decision  # preview and send render again and report the template error themselves
    return check_standard_content(decision, [subject, body], settings.sensitive_terms,
                                  settings.enforce_recommendations)


def _validate(request: MessageRequest) -> None:
    refuse_erased(request.contact)
    errors = {}
    if request.channel not in CHANNELS:
        errors["channel"] = "must be sms, email or voice"
    elif not address_for(request.contact, request.channel):
        errors["channel"] = f"the contact has no {'e-mail address' if request.channel == 'email' else 'phone number'}"
    if request.template is None and not (request.body or "").strip():
        errors["body"] = "write a message or choose a template"
    if request.subject and len(request.subject.strip()) > 300:
        errors["subject"] = "must be at most 300 characters"
    if request.template is not None and request.template.channel != request.channel:
        errors["template"] = f"this template is for {request.template.channel}, not {request.channel}"
    if request.body and len(request.body) > 10_000:
        errors["body"] = "must be at most 10,000 characters"
    if send_at_problem(request.send_at):
        errors["send_at"] = send_at_problem(request.send_at)
    if errors:
        raise ValidationFailed("The message cannot be sent as it is.", errors)


def render_content(request: MessageRequest, org_name: str) -> tuple[str | None, str]:
    """The content as the client will read it: (subject, body), rendered for the request's contact."""
    # Only a template's own text is a Jinja template; what a person types is sent as typed.
    context = body_context(request.contact, org_name)
    if request.template is not None and not (request.body or "").strip():
        body = render_text(request.template.body, context)
    else:
        body = request.body.strip()
    if (request.subject or "").strip():
        subject = request.subject.strip()
    elif request.template is not None and request.template.subject:
        subject = render_text(request.template.subject, context, "subject")
    else:
        subject = None
    if request.channel == "email" and not subject:
        subject = f"A message from {org_name}"
    return subject, body


def suppression_reason(request: MessageRequest, decision: Decision) -> str | None:
    """Why this message must not go out at all, or None: transactional consent withdrawn on its
    channel (STOP, staff, API, import), or marketing without marketing consent on that channel."""
    if not has_consent(request.contact, request.channel, "transactional"):
        return withdrawn_reason(request.channel)
    if decision.recommendation == "standard_opt_in" and not has_consent(request.contact, request.channel, "marketing"):
        return marketing_reason(request.channel)
    return None


def preview_message(request: MessageRequest) -> Preview:
    """The decision and the exact client-facing text, without sending anything."""
    _validate(request)
    decision = decide_for(request)
    settings = get_settings()
    subject, body = render_content(request, settings.org_name)
    facts = ClientFacts(settings.org_name, request.contact.first_name,
                        link=f"{current_app.config['PUBLIC_BASE_URL']}/m/{LINK_PLACEHOLDER}",
                        notice_template=notice_source(request.template, settings, request.contact.language),
                        subject=subject, body=body, language=request.contact.language)
    client_subject, text = preview_text(request.channel, decision.mode == "secure", facts)
    return Preview(decision=decision, subject=client_subject, client_text=text, content_subject=subject,
                   content_body=body, suppressed_reason=suppression_reason(request, decision))


def check_policy(request: MessageRequest, decision: Decision, actor: Actor) -> None:
    """Refuse a blocked send unless an admin gives a reason; a secure send with the portal off always."""
    if "portal_disabled" in decision.blocked_by:
        raise Conflict("Secure messages need the client portal, which is turned off.", code="portal_disabled")
    if decision.blocked:
        reason = (request.override_reason or "").strip()
        if not actor.is_admin:
            raise PolicyRefused(
                "This message is blocked by policy: " + "; ".join(w.message for w in decision.warnings
                                                                 if w.code in decision.blocked_by)
                + " Only an admin can override it, with a reason.")
        if not reason:
            raise PolicyRefused("Blocked by policy: an admin override needs a reason.",
                                {"override_reason": "give a reason to override the recommendation"})


def link_for(message: Message) -> str:
    """The client's signed link to the message's reading page."""
    token = make_link_token(message.public_id, message.token_version)
    return f"{current_app.config['PUBLIC_BASE_URL']}/m/{token}"


def send_message(request: MessageRequest, actor: Actor) -> Message:
    """Create the message and its first delivery. Commits nothing: the caller commits once."""
    _validate(request)
    decision = decide_for(request)
    check_policy(request, decision, actor)
    settings = get_settings()
    subject, body = render_content(request, settings.org_name)

    data_key, wrapped = keyring().new_data_key()
    now = clock.utcnow()
    message = Message(
        contact=request.contact, direction="out", channel=request.channel, mode=decision.mode,
        require_pin=decision.require_pin, pin_method=decision.pin_method, decided_by=decision.decided_by,
        pin_decided_by=decision.pin_decided_by, recommendation=decision.recommendation,
        warnings=decision.warning_dicts() + list(request.extra_warnings),
        situation=request.situation or (request.template.situation if request.template else None),
        template=request.template, data_key=wrapped,
        subject_ciphertext=encrypt_content(data_key, subject),
        body_ciphertext=encrypt_content(data_key, body),
        created_by_id=actor.user_id, api_key_id=actor.api_key_id, send_at=request.send_at,
        created_at=now, expire_after_view=expires_after_view(request.expire_after_view, request.template),
        expires_at=link_expiry(max(now, request.send_at or now), request.template, settings)
        if decision.mode == "secure" else None,
    )
    if decision.blocked:
        message.override_reason = request.override_reason.strip()
    db.session.add(message)
    db.session.flush()
    if decision.blocked:
        audit(actor, "message.policy_override", "message", message.public_id,
              reason=message.override_reason, blocked_by=list(decision.blocked_by))
    audit(actor, "message.create", "message", message.public_id, mode=decision.mode,
          decided_by=decision.decided_by, channel=request.channel)

    reason = suppression_reason(request, decision)
    if reason:
        message.status = "suppressed"
        message.suppressed_reason = reason
        record_event(message, "suppressed", reason=reason)
        return message

    scheduled = request.send_at is not None and request.send_at > now
    delivery = Delivery(message=message, kind="notice" if decision.mode == "secure" else "content",
                        channel=request.channel, to_address=address_for(request.contact, request.channel),
                        next_attempt_at=request.send_at if scheduled else now)
    db.session.add(delivery)
    message.status = "scheduled" if scheduled else "queued"
    record_event(message, "queued", send_at=request.send_at.isoformat() if scheduled else None)
    return message


def message_content(message: Message) -> tuple[str | None, str | None]:
    """Decrypted (subject, body). Callers that show it to a person audit the access."""
    if message.data_key is None:
        return None, None
    fernet = keyring().data_key(message.data_key)
    return decrypt_content(fernet, message.subject_ciphertext), decrypt_content(fernet, message.body_ciphertext)


def get_message(public_id: str) -> Message:
    """The message with this public id; NotFound when there is none."""
    message = db.session.execute(db.select(Message).filter_by(public_id=public_id)).scalar_one_or_none()
    if message is None:
        raise NotFound("No such message.")
    return message


def revoke_message(message: Message, actor: Actor) -> Message:
    """Stop the link working at once and cancel anything not yet sent."""
    if message.direction != "out":
        raise Conflict("Only outbound messages can be revoked.", code="not_revocable")
    if message.revoked_at is None:
        message.revoked_at = clock.utcnow()
        _close(message, "revoked", actor, "message.revoke")
    return message


def cancel_scheduled(message: Message, actor: Actor) -> Message:
    """Cancel a scheduled message before it goes out; its link stops working."""
    if message.status != "scheduled":
        raise Conflict("Only a scheduled message that has not gone out can be cancelled.", code="not_scheduled")
    _close(message, "cancelled", actor, "message.cancel")
    return message


def _close(message: Message, status: str, actor: Actor, action: str) -> None:
    """End a message early: its link dies, what is still queued is cancelled; the event and the audit say so."""
    message.status = status
    message.token_version += 1
    for delivery in message.deliveries:
        if delivery.status == "queued":
            delivery.status = "cancelled"
    record_event(message, status)
    audit(actor, action, "message", message.public_id)
