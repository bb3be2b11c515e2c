"""Exact identity: an address names an account only when the account has exactly that address.

Directories match loosely. Samba ends a filter value at an escaped NUL (`\\00`), so a
verified email of `chan.taiman@corp.example.com` followed by a NUL found chan.taiman; AD
and Entra let two accounts share one `mail`. So every lookup by address, in every backend
(AD, Entra, the demo file; the hybrid directory asks those):

1. refuses a value that is empty or holds a control, format, separator or whitespace
   character before the directory is asked (`MalformedIdentity`). Nothing is stripped or
   repaired: a value that needs repair did not come from where it claims to.
2. keeps the directory's escaped search and its "exactly one" rule: two accounts that share
   the address are `Ambiguous`, and the bot acts on neither.
3. accepts the one account found only when its mail or UPN equals the address after case
   folding and nothing else (`InexactMatch` otherwise).

The backends raise; the handlers audit and explain (`Turn.account`, `bot.handlers.on_behalf`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from bot.integrations.directory import Account, InexactMatch, MalformedIdentity


def malformed(value: str | None) -> str | None:
    """Why `value` cannot be an identity ("empty", "contains U+0000"), or None when it can."""
    if not value:
        return "empty"
    for char in value:
        # C*: control, format (zero-width, bidi), surrogate, private, unassigned;
        # Z*: space and line/paragraph separators
        if char.isspace() or unicodedata.category(char)[0] in "CZ":
            return f"contains U+{ord(char):04X}"
    return None


def checked(value: str, what: str) -> str:
    """`value` unchanged when it can be an identity; else `MalformedIdentity` naming `what`."""
    why = malformed(value)
    if why is not None:
        raise MalformedIdentity(f"{what} {why}")
    return value


def has_address(addresses: Iterable[str], address: str) -> bool:
    """Whether one of `addresses` is `address`, compared after case folding and nothing else."""
    wanted = address.casefold()
    return any(stored.casefold() == wanted for stored in addresses if stored)


def answers_to(account: Account, address: str) -> bool:
    """Whether the account's mail or UPN is exactly `address` (case folded)."""
    return has_address((account.email, *account.addresses), address)


def exact_account(account: Account, address: str) -> Account:
    """The account a search found, if it has exactly that address; else `InexactMatch`."""
    if not answers_to(account, address):
        raise InexactMatch(f"{account.directory_id} has no mail or UPN equal to the address asked")
    return account
