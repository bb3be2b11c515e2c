"""How people are named to others: by their directory display name, not their email."""

from __future__ import annotations

from bot.handlers.base import Turn
from bot.integrations.directory import DirectoryError


async def display_name(turn: Turn, email: str) -> str:
    """`email`'s directory display name; when the directory does not know them or cannot
    answer, the email's local part (`ho.kawai`), so an address is never shown whole."""
    if "@" not in email:
        return email
    try:
        account = await turn.services.directory.find_by_email(email)
    except DirectoryError:
        return email.split("@", 1)[0]
    return account.display_name or email.split("@", 1)[0]


async def display_names(turn: Turn, emails: list[str]) -> dict[str, str]:
    """Several at once, each looked up once."""
    return {email: await display_name(turn, email) for email in dict.fromkeys(emails)}
