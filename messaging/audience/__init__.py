"""Audiences: groups of contacts — segments (stored rules evaluated in SQL) and contact imports (CSV, in bulk).

May import: the top-level modules, ``security`` and ``people``. Must not import ``policy``,
``delivery``, ``client`` or any face.
"""
