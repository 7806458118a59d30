"""GDPR rights over one contact: ``export`` (everything Sealed holds, as JSON) and ``erase``
(data keys destroyed, personal fields anonymised, pending deliveries cancelled, addresses cleared).
``rejects`` finds the contact among imports' rejected rows; ``guard`` refuses new messages to an erased
contact (``messages`` calls it).

May import only the foundation, ``security``, ``people`` and ``retention`` (its shredding).
"""
from messaging.privacy.erase import ErasureReport, erase_contact
from messaging.privacy.export import export_contact

__all__ = ["ErasureReport", "erase_contact", "export_contact"]
