"""People: contacts (who Sealed reaches), their consent ledger and search index, console users and API keys.

Holds ``contacts`` (validation and normalisation, with ``contact_values`` for the field limits
and the language, date and zone rules), ``consent`` (the ledger of grants and
withdrawals and the state it gives), ``search_index`` (tags and form fields as case-folded rows
for segments) and ``users`` (console users, API keys, old accounts).

May import: the top-level modules and ``security``. Must not import ``policy``, ``delivery``,
``client``, ``audience`` or any face.
"""
