"""The check behind the guard that fails a test leaving a Flask context pushed (as Flask's own suite does).

A context left pushed makes the next test run inside the previous test's app: its config, its database
session, its ``g``. Finding it where it happens beats debugging the test it breaks later.
"""
from __future__ import annotations

from flask import globals as flask_globals

# Request contexts first: popping one pops the app context it pushed. (Flask 3.2 folds the request context
# into the app context; then only _cv_app is left.)
_PUSHED = [var for var in (getattr(flask_globals, "_cv_request", None), flask_globals._cv_app) if var is not None]


def pop_leaked_contexts() -> list:
    """Pop every request and app context still pushed (innermost first) and return them; [] when none."""
    leaked = []
    for pushed in _PUSHED:
        while (context := pushed.get(None)) is not None:
            leaked.append(context)
            context.pop()
    return leaked
