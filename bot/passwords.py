"""Temporary passwords: random (CSPRNG), long, and meeting the domain's complexity rule.

Every password has at least one upper-case letter, lower-case letter, digit and symbol
(which satisfies AD's complexity rule of three classes out of four), is at least 15
characters and at least the domain's minimum, avoids characters that are easily misread
(I l 1 O 0) and never contains the user's account name or a part of their name of three
letters or more (AD refuses those). The directory may still refuse one (a policy we
cannot see, such as a banned-password list): the caller then asks for another.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from bot.integrations.directory import PasswordPolicy

UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abcdefghijkmnopqrstuvwxyz"
DIGITS = "23456789"
SYMBOLS = "!#%+-=?@_"
_ALL = UPPER + LOWER + DIGITS + SYMBOLS
MIN_LENGTH = 15


def _name_parts(names: Iterable[str]) -> tuple[str, ...]:
    parts: set[str] = set()
    for name in names:
        for part in re.split(r"[\s,.\-_@#\t]+", name.lower()):
            if len(part) >= 3:
                parts.add(part)
    return tuple(parts)


def temporary_password(policy: PasswordPolicy, length: int, avoid: Iterable[str] = ()) -> str:
    """A new random password of `max(length, 15, policy.min_length)` characters."""
    size = max(length, MIN_LENGTH, policy.min_length)
    parts = _name_parts(avoid)
    rng = secrets.SystemRandom()
    while True:
        chars = [rng.choice(UPPER), rng.choice(LOWER), rng.choice(DIGITS), rng.choice(SYMBOLS)]
        chars += [rng.choice(_ALL) for _ in range(size - len(chars))]
        rng.shuffle(chars)
        password = "".join(chars)
        if not any(part in password.lower() for part in parts):
            return password
