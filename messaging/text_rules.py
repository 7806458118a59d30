"""Rules for the text the core stores: which characters it must not hold, defined once for the core and the API.

Control characters mean nothing in a name, an address or a message, and PostgreSQL refuses NUL in
text outright; tab, newline and carriage return are ordinary text. A lone UTF-16 surrogate (what a
JSON ``"\\ud800"`` escape decodes to) cannot be encoded for any database.
"""
from __future__ import annotations

import re

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # every control character but tab, newline and return
_SURROGATE = r"\ud800-\udfff"

CONTROL_CHARACTERS = re.compile(f"[{_CONTROL}]")
SURROGATES = re.compile(f"[{_SURROGATE}]")
UNSTORABLE_CHARACTERS = re.compile(f"[{_CONTROL}{_SURROGATE}]")
