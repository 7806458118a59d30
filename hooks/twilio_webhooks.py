"""Twilio webhooks: delivery status callbacks and inbound SMS. Thin: verify, parse, call messaging/.

Both verify ``X-Twilio-Signature`` with the SDK's RequestValidator over the public URL Twilio
called (``PUBLIC_BASE_URL`` + path + query) and the POSTed fields; anything else gets 403.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from messaging.client.inbound import receive_sms
from messaging.db import db
from messaging.delivery.provider_status import record_provider_status
from messaging.errors import ValidationFailed

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


def public_url() -> str:
    """The URL Twilio signed: ours as the world sees it, not as the proxy in front of us passed it on."""
    query = request.query_string.decode()
    return current_app.config["PUBLIC_BASE_URL"] + request.path + (f"?{query}" if query else "")


def signature_ok() -> bool:
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False
    return RequestValidator(token).validate(public_url(), request.form, signature)


def signed(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not signature_ok():
            current_app.logger.warning("refused an unsigned or wrongly signed webhook at %s", request.path)
            abort(403)
        return view(*args, **kwargs)
    return wrapper


@bp.post("/twilio/status")
@signed
def twilio_status():
    form = request.form
    provider_id = form.get("MessageSid") or form.get("SmsSid") or form.get("CallSid")
    status = form.get("MessageStatus") or form.get("SmsStatus") or form.get("CallStatus") or ""
    record_provider_status(provider_id, status, error_code=form.get("ErrorCode"),
                           error_message=form.get("ErrorMessage"), key=request.args.get("key"))
    db.session.commit()
    return Response(status=204)


@bp.post("/twilio/inbound")
@signed
def twilio_inbound():
    form = request.form
    sender = (form.get("From") or "").strip()
    if not sender:
        abort(400)
    try:
        receive_sms(sender, form.get("Body"), provider_id=form.get("MessageSid") or form.get("SmsSid"))
    except ValidationFailed as exc:
        # Signed, so it did come from Twilio, but there is no number to file it under. Answered
        # with the usual empty TwiML: an error status would only make Twilio log it as our failure
        # and try the fallback URL, and the same From would fail the same way every time.
        db.session.rollback()
        current_app.logger.warning("dropped an inbound SMS from %r (message %s): %s", sender[:40],
                                   form.get("MessageSid") or form.get("SmsSid"), exc.message)
        return Response(str(MessagingResponse()), mimetype="text/xml")
    db.session.commit()
    # Replies (confirmations, help) go through the delivery engine like every send, so they are
    # recorded, retried and suppressed by the same rules; the TwiML answer itself stays empty.
    return Response(str(MessagingResponse()), mimetype="text/xml")
