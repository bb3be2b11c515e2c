"""Finding secrets people type into chat, before anything is stored or copied.

Rule 8 of the self-service safety rules: a password typed into chat ("my password
is Hunter2!", "密碼係abc123"), an access token, a private key or a payment-card
number is replaced by `[redacted]` before the message reaches the classifier, the
store or a ticket, and the user is told to change what they exposed.

Deliberately eager: hiding a harmless word costs little, storing a password costs a lot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MASK = "[redacted]"

_PASSWORD_VALUE = re.compile(
    r"(?P<key>\b(?:password|passwd|pass\s*word|pwd|pw|passcode|pin|new\s+password|old\s+password)"
    r"|密碼|密码|登入密碼)"
    r"(?P<sep>\s*(?:is|was|=|:|：|係|系|是|为|為|would\s+be|should\s+be)\s*|\s+)"
    r"(?P<value>[\"'“”‘’]?[^\s\"'“”‘’，。,]{3,}[\"'“”‘’]?)",
    re.IGNORECASE,
)
# Words after "password" that are speech, not a value ("password reset", "password is expired").
_NOT_A_VALUE = frozenset(
    [
        "reset",
        "expired",
        "expire",
        "expiring",
        "expires",
        "change",
        "changed",
        "changing",
        "locked",
        "lock",
        "not",
        "wrong",
        "incorrect",
        "invalid",
        "please",
        "pls",
        "again",
        "for",
        "to",
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "on",
        "in",
        "of",
        "my",
        "is",
        "was",
        "will",
        "keeps",
        "keep",
        "prompt",
        "prompts",
        "prompting",
        "policy",
        "rules",
        "requirement",
        "requirements",
        "help",
        "still",
        "never",
        "doesnt",
        "dont",
        "cant",
        "won't",
        "wont",
        "isnt",
        "has",
        "have",
        "had",
        "does",
        "do",
        "did",
        "forgot",
        "forgotten",
        "manager",
        "box",
        "field",
        "screen",
        "page",
        "prompt.",
        "reset.",
        "expired.",
        "work",
        "working",
        "too",
        "doesn",
        "isn",
        "can",
        "won",
        "didn",
        "wasn",
        "hasn",
        "haven",
        "couldn",
        "shouldn",
        "ain",
        "aren",
        "weren",
    ]
)
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("token", re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}")),
    ("token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("token", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("token", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{20,}=*")),
    (
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
    ),
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.kinds)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def redact(text: str) -> Redaction:
    """Return `text` with secrets masked and the kinds of secret found."""
    kinds: list[str] = []

    def password(match: re.Match[str]) -> str:
        value = match.group("value").strip("\"'“”‘’")
        if value.lower().rstrip(".!?") in _NOT_A_VALUE or value == MASK:
            return match.group(0)
        kinds.append("password")
        return f"{match.group('key')}{match.group('sep')}{MASK}"

    out = _PASSWORD_VALUE.sub(password, text)
    for kind, pattern in _PATTERNS:
        out, n = pattern.subn(MASK, out)
        kinds.extend([kind] * n)

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            kinds.append("card")
            return MASK
        return match.group(0)

    out = _CARD.sub(card, out)
    return Redaction(out, tuple(dict.fromkeys(kinds)))
