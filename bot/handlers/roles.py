"""Who someone is to the helpdesk: an engineer or supervisor (by directory group, checked
against the directory every time, never a name typed in chat), and the person a
`@name` in a command stands for.

Its own module so the handlers that ask (commands, acting on someone else's account,
the home screen, the engine) import it rather than each other.
"""

from __future__ import annotations

from bot.handlers.base import Turn
from bot.integrations.directory import DirectoryError


def person(turn: Turn, name: str) -> str:
    """`@ho.kawai` → ho.kawai@<the actor's domain>; `someone@corp` stays as it is."""
    name = name.lstrip("@")
    if "@" in name:
        return name.lower()
    domain = (turn.msg.actor.email or "@").split("@", 1)[1]
    return f"{name.lower()}@{domain}" if domain else name.lower()


async def is_engineer(turn: Turn, email: str | None = None) -> bool:
    """Whether `email` (default: the actor) is in an engineer or supervisor group."""
    roles = turn.services.settings.roles
    allowed = set(roles.engineer_groups) | set(roles.supervisor_groups)
    try:
        if email is None:
            account = await turn.account("role_check")
        else:
            account = await turn.services.directory.find_by_email(email)
        groups = await turn.services.directory.groups(account)
    except DirectoryError:
        return False
    return bool(allowed & set(groups))
