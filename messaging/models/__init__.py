"""Tables of the core, one module per subject. Content columns hold ciphertext only (see messaging.security.crypto).

``choices`` holds the fixed values the columns take (channels, modes, roles, statuses); ``people``
the console users, API keys and contacts; ``organisation`` the settings row, the recommendation
matrix and templates; ``message`` messages, their events and one-time codes; ``delivery`` the
outbound work and what the outbox transport recorded; ``audit`` the audit log; ``audience`` the
consent ledger, the tag and field index, segments and imports; ``outreach`` broadcasts and
campaigns; ``webhooks`` the signed event webhooks. Every table and value is
re-exported here, so ``from messaging.models import Message`` is the way to name one, and
importing this package registers every table on ``db.metadata`` (Alembic compares against it).

May import only ``db``, ``clock`` and its own modules: everything else in the core builds on the tables.
"""
from messaging.models.audience import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    CONSENT_SOURCES,
    IMPORT_STATUSES,
    ConsentEntry,
    ContactField,
    ContactImport,
    ContactImportChunk,
    ContactImportReject,
    ContactTag,
    Segment,
)
from messaging.models.audit import AuditEntry, AuditHead
from messaging.models.choices import (
    CHANNELS,
    DELIVERY_STATUSES,
    DESTRUCTION_REASONS,
    EVENT_KINDS,
    LEVEL_MODES,
    MESSAGE_STATUSES,
    MODES,
    PIN_SETTERS,
    RECOMMENDATIONS,
    ROLES,
    TWO_FACTOR_POLICIES,
)
from messaging.models.defaults import new_public_id
from messaging.models.delivery import Delivery, OutboxEntry
from messaging.models.message import Attachment, Message, MessageEvent, OneTimeCode, ViewerSession
from messaging.models.organisation import DEFAULT_SENSITIVE_TERMS, Settings, Situation, Template
from messaging.models.outreach import (
    AUDIENCE_OUTCOMES,
    BROADCAST_STATUSES,
    CAMPAIGN_STATUSES,
    ENROLMENT_STATES,
    EXIT_REASONS,
    EXIT_RULES,
    STEP_RUN_OUTCOMES,
    Broadcast,
    BroadcastRecipient,
    Campaign,
    CampaignEnrolment,
    CampaignStep,
    CampaignStepRun,
)
from messaging.models.people import ApiKey, Contact, User
from messaging.models.webhooks import (
    WEBHOOK_DELIVERY_STATUSES,
    WEBHOOK_EVENT_TYPES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

__all__ = [
    "CONSENT_CHANNELS", "CONSENT_PURPOSES", "CONSENT_SOURCES", "IMPORT_STATUSES",
    "ConsentEntry", "ContactField", "ContactImport", "ContactImportChunk", "ContactImportReject", "ContactTag",
    "Segment",
    "CHANNELS", "DEFAULT_SENSITIVE_TERMS", "DELIVERY_STATUSES", "EVENT_KINDS", "LEVEL_MODES", "MESSAGE_STATUSES",
    "MODES", "RECOMMENDATIONS", "ROLES",
    "ApiKey", "Attachment", "AuditEntry", "Contact", "Delivery", "Message", "MessageEvent", "OneTimeCode",
    "OutboxEntry", "Settings", "Situation", "Template", "User", "ViewerSession",
    "new_public_id",
    "AUDIENCE_OUTCOMES", "BROADCAST_STATUSES", "CAMPAIGN_STATUSES", "ENROLMENT_STATES", "EXIT_REASONS", "EXIT_RULES",
    "STEP_RUN_OUTCOMES", "Broadcast", "BroadcastRecipient", "Campaign", "CampaignEnrolment", "CampaignStep",
    "CampaignStepRun",
    "AuditHead", "DESTRUCTION_REASONS", "PIN_SETTERS", "TWO_FACTOR_POLICIES",
    "WEBHOOK_DELIVERY_STATUSES", "WEBHOOK_EVENT_TYPES", "WebhookAttempt", "WebhookDelivery", "WebhookEndpoint",
    "WebhookEvent",
]
