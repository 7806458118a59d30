"""Does this standard message look like it carries protected data?

Staff make mistakes under pressure. Before a message goes out standard (its text in the SMS or
e-mail itself), its rendered text is scanned for what looks like protected data: a date of birth, a
card, account, IBAN or social security number, a money amount tied to a balance, and words from
the organisation's list (Settings.sensitive_terms). A hit becomes a ``protected_content`` warning
on the decision, which ``enforce_recommendations = block`` turns into a refusal exactly like a
situation mismatch.

The patterns lean towards precision: an appointment date or time, a phone number or a price
without balance words must not hit, or staff learn to click through the warning. The warning
names the kind of data found, never the data itself (warnings are stored in clear on the message).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from messaging import clock
from messaging.models import DEFAULT_SENSITIVE_TERMS
from messaging.policy.decision import Decision, PolicyWarning
from messaging.settings import parse_terms

# Years before this many years ago make a bare full date look like a date of birth.
BARE_DATE_MIN_AGE_YEARS = 10


@dataclass(frozen=True)
class Finding:
    """One thing that looks like protected data: what kind, how the warning names it, where it is."""

    kind: str  # date_of_birth, card_number, account_number, iban, ssn, balance, term
    label: str  # what the warning says, e.g. "a date of birth" or "the word 'biopsy'"
    start: int
    end: int


# --- dates ---------------------------------------------------------------------------------------

_MONTHS = {name: number for number, names in enumerate([
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"),
    ("november", "nov"), ("december", "dec")], start=1) for name in names}
_MONTH = r"(?P<month_name>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DATE_PATTERNS = [
    # 04/12/1987, 4-12-87, 12.04.1987 (day/month or month/day)
    re.compile(r"(?<![\d/.\-])(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})(?![\d/.\-]*\d)"),
    # 1987-04-12
    re.compile(r"(?<![\d/.\-])(?P<year>\d{4})(?P<sep>[/.\-])(?P<a>\d{1,2})(?P=sep)(?P<b>\d{1,2})(?![\d/.\-]*\d)"),
    # 12 April 1987, 12th of April, 1987
    re.compile(r"\b(?P<a>\d{1,2})" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>\d{4})\b", re.I),
    # April 12, 1987
    re.compile(r"\b" + _MONTH + r"\s+(?P<a>\d{1,2})" + _ORD + r",?\s+(?P<year>\d{4})\b", re.I),
]
_DOB_CUE = re.compile(r"(?:\bd\.?\s?o\.?\s?b\b\.?|\bdate\s+of\s+birth\b|\bbirth\s*date\b|\bbirthday\b|\bborn\b"
                      r")(?:\s+(?:is|was|on))?\W{0,4}$", re.I)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _parse_date(match: re.Match) -> tuple[int | None, bool] | None:
    """(four-digit year or None for a two-digit one, plausible) of a date-like match, or None."""
    groups = match.groupdict()
    raw_year = groups["year"]
    year = int(raw_year) if len(raw_year) == 4 else None
    check_year = year if year is not None else 2000 + int(raw_year)
    a = int(groups["a"])
    if groups.get("month_name"):
        plausible = _valid_date(check_year, _MONTHS[groups["month_name"].lower()], a)
    elif groups.get("b") is not None:
        b = int(groups["b"])
        plausible = _valid_date(check_year, b, a) or _valid_date(check_year, a, b)
    else:  # pragma: no cover - every pattern has a day and a month
        plausible = False
    return year, plausible


def _dates_of_birth(text: str, today: date) -> list[Finding]:
    found = []
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            year, plausible = _parse_date(match)
            if not plausible:
                continue
            cue = _DOB_CUE.search(text[max(0, match.start() - 30):match.start()])
            old = year is not None and 1900 <= year <= today.year - BARE_DATE_MIN_AGE_YEARS
            if cue or old:
                found.append(Finding("date_of_birth", "a date of birth", match.start(), match.end()))
    return found


# --- numbers -------------------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?<![\d+\w])\d(?:[ \-]?\d){12,18}(?![\d\w])")
_PHONE_PREFIX = re.compile(r"\+\d{1,3}[ \-]?$")
_ACCOUNT = re.compile(r"\b(?:account|acct|a/c|routing|sort\s+code|member\s+id|policy)\.?\s*"
                      r"(?:number|no\.?|num|#)?\s*[:#]?\s*(?P<number>\d[\d \-]{4,24}\d)\b", re.I)
_SSN = re.compile(r"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])|\b(?:ssn|social\s+security(?:\s+number)?)\W{0,4}\d{9}\b",
                  re.I)
_IBAN = re.compile(r"\b(?P<cue>IBAN\W{0,3})?(?P<iban>[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b")


def luhn_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check that card numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_valid(compact: str) -> bool:
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in moved)
    return int(number) % 97 == 1


def _numbers(text: str) -> list[Finding]:
    found = []
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if _PHONE_PREFIX.search(text, 0, match.start()):
            continue  # the rest of an international phone number, e.g. "+44 20 7946 0958"
        # Card numbers start 2-6 (Mastercard, Amex, Visa, Discover…); phone numbers in local form
        # start with 0 and in international form with '+', which the pattern already excludes.
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            found.append(Finding("card_number", "a card number", match.start(), match.end()))
    for match in _ACCOUNT.finditer(text):
        digits = re.sub(r"\D", "", match.group("number"))
        if 6 <= len(digits) <= 20:
            found.append(Finding("account_number", "an account number", match.start(), match.end()))
    for match in _SSN.finditer(text):
        found.append(Finding("ssn", "a social security number", match.start(), match.end()))
    for match in _IBAN.finditer(text):
        compact = match.group("iban").replace(" ", "")
        if 15 <= len(compact) <= 34 and (match.group("cue") or _iban_valid(compact)):
            found.append(Finding("iban", "an IBAN", match.start(), match.end()))
    return found


# --- money tied to a balance ---------------------------------------------------------------------

_MONEY = re.compile(
    r"(?:[$£€]|\b(?:USD|GBP|EUR|CAD|AUD)\s?)\s?\d[\d,]*(?:\.\d{1,2})?"  # $1,240.50  £300  EUR 85
    r"|\b\d[\d,]*(?:\.\d{2})?\s?(?:USD|GBP|EUR|CAD|AUD|dollars|pounds|euros)\b"  # 85 dollars
    r"|(?<![\d:.])\b\d[\d,]*\.\d{2}\b(?![.:]?\d)(?!\s?(?:[ap]\.?m\b|h\b|hrs?\b|o'clock))",  # 85.00, not 3.30pm
    re.I)
_BALANCE = re.compile(r"\b(?:balance|owe|owes|owed|owing|outstanding|overdue|due|arrears|debt|debts|unpaid"
                      r"|invoice|bill|billed)\b", re.I)
_TIME_BEFORE = re.compile(r"\bat\s*$", re.I)
BALANCE_WINDOW = 40


def _balances(text: str) -> list[Finding]:
    found = []
    for match in _MONEY.finditer(text):
        if match.group()[0] not in "$£€" and not re.search(r"[A-Za-z]", match.group()) \
                and _TIME_BEFORE.search(text[max(0, match.start() - 6):match.start()]):
            continue  # "at 10.30" is a time
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end == -1 else line_end
        window = text[max(line_start, match.start() - BALANCE_WINDOW):min(line_end, match.end() + BALANCE_WINDOW)]
        if _BALANCE.search(window):
            found.append(Finding("balance", "a money amount tied to a balance", match.start(), match.end()))
    return found


# --- words from the organisation's list ----------------------------------------------------------

def _term_pattern(term: str) -> re.Pattern:
    body = r"\s+".join(re.escape(word) for word in term.split())
    start = r"\b" if term[0].isalnum() else ""
    end = r"(?:s|es)?\b" if term[-1].isalnum() else ""
    return re.compile(start + body + end, re.I)


def _terms(text: str, terms: Iterable[str]) -> list[Finding]:
    found = []
    for term in terms:
        match = _term_pattern(term).search(text)
        if match:
            found.append(Finding("term", f"the word '{term}'", match.start(), match.end()))
    return found


# --- the check -----------------------------------------------------------------------------------

def find_protected_data(text: str, terms: Iterable[str] | str | None = None,
                        today: date | None = None) -> list[Finding]:
    """Everything in ``text`` that looks like protected data, in order of appearance.

    ``terms`` is the sensitive-word list (a list, or the Settings text); None means the default.
    """
    if not text:
        return []
    today = today or clock.utcnow().date()
    term_list = parse_terms(DEFAULT_SENSITIVE_TERMS if terms is None else terms)
    findings = _dates_of_birth(text, today) + _numbers(text) + _balances(text) + _terms(text, term_list)
    # A card number is not also an account number, a date inside an IBAN is not a date of birth.
    findings.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in findings:
        if kept and finding.start < kept[-1].end and finding.kind != "term" and kept[-1].kind != "term":
            continue
        kept.append(finding)
    return kept


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def protected_content_warning(findings: list[Finding]) -> PolicyWarning | None:
    """One ``protected_content`` warning naming each kind found (not the data), or None."""
    labels: list[str] = []
    for finding in findings:
        if finding.label not in labels:
            labels.append(finding.label)
    if not labels:
        return None
    return PolicyWarning("protected_content",
                         f"This message goes standard but looks like it contains protected data: {_join(labels)}. "
                         "Send it secure, or take that out.")


def check_standard_content(decision: Decision, texts: Iterable[str | None], terms: str | None,
                           enforce: str, today: date | None = None) -> Decision:
    """``decision`` with a ``protected_content`` warning if it goes standard and ``texts`` hit.

    With ``enforce == 'block'`` the warning is also a refusal (``blocked_by``), which the caller
    lets an admin override with a reason, as for a situation mismatch.
    """
    if decision.mode != "standard":
        return decision
    text = "\n".join(t for t in texts if t)
    warning = protected_content_warning(find_protected_data(text, terms if terms is not None else None, today))
    if warning is None:
        return decision
    return decision.with_warnings([warning], block=enforce == "block", code="protected_content")
