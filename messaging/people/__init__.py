"""People: contacts (who Sealed reaches) and console users and API keys (who uses Sealed).

May import: the top-level modules and ``security``. Must not import ``policy``, ``delivery``,
``client`` or any face.
"""
