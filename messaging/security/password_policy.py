"""The password policy: what a chosen password must be, with a message the person can act on.

At least ``MIN_PASSWORD_LENGTH`` characters, and not guessable: zxcvbn estimates how many guesses
a cracker ordering candidates by dictionaries, keyboard patterns, dates and repeats would need, and
a password scoring below ``MIN_SCORE`` (fewer than about 10^8 guesses) is refused. Length alone lets
``password1234`` through; the estimate catches it. The person's own e-mail and the product's name
count as known words, so ``sealed-dana@example.com`` gains nothing from them.
"""
from __future__ import annotations

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
# zxcvbn's 0–4 scale; 3 is "safely unguessable" (about 10^8 guesses or more).
MIN_SCORE = 3
# zxcvbn's matching is quadratic in the length; past this the first part decides (and is long anyway).
SCORED_LENGTH = 100
KNOWN_WORDS = ("sealed", "secure", "message", "messaging", "console", "admin")


def password_weakness(password: str | None, known: tuple[str, ...] | list[str] = ()) -> str | None:
    """Why ``password`` will not do, as the end of a sentence ("must be …"), or None when it will.

    ``known``: words an attacker aiming at this account would try first (its e-mail address).
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    words = [*KNOWN_WORDS]
    for item in known:
        if item:
            words.append(item)
            words.extend(part for part in item.replace("@", " ").replace(".", " ").split() if len(part) > 2)
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return None
    warning = (result.get("feedback") or {}).get("warning") or ""
    reason = f" ({warning.rstrip('.')})" if warning else ""
    return (f"is too easy to guess{reason}: common passwords, names, dates, keyboard patterns and repeats "
            "are tried first. Use a few unrelated words or a password manager's random password")
