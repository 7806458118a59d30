"""The fixed values the core stores and accepts: channels, modes, roles, recommendations, statuses, event kinds.

Defined once and read everywhere: the tables, the decision ladder (``LEVEL_MODES``), the console's
choices and the API schemas' enums.
"""

CHANNELS = ("sms", "email", "voice")
MODES = ("secure", "standard")
# What a level of the decision ladder (one-off message, campaign step, template) may hold.
LEVEL_MODES = ("inherit", *MODES)
ROLES = ("admin", "staff")
RECOMMENDATIONS = ("secure", "standard", "standard_opt_in")

MESSAGE_STATUSES = ("queued", "sent", "delivered", "failed", "suppressed", "scheduled", "cancelled",
                    "revoked", "received")
# ``paused``: a paused broadcast or campaign holds its queued deliveries back from every claim.
DELIVERY_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "suppressed", "cancelled", "paused")
EVENT_KINDS = ("queued", "sent", "delivered", "failed", "link_opened", "pin_failed", "locked", "verified",
               "viewed", "replied", "revoked", "expired", "suppressed", "cancelled", "code_sent",
               "renotified", "content_opened", "link_requested", "reissued", "attachment_downloaded",
               "signed_out", "content_destroyed", "pin_chosen", "pin_choice_skipped")
# Who set a contact's PIN (Contact.pin_set_by).
PIN_SETTERS = ("client", "staff")
# How a message's content came to be destroyed (Message.content_destroyed_reason).
DESTRUCTION_REASONS = ("retention", "erasure")
TWO_FACTOR_POLICIES = ("off", "admins", "all")
