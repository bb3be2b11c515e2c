"""Who someone is to the helpdesk: requester, engineer or supervisor (by directory group,
checked against the directory every time, never a name typed in chat), and the person a
`@name` in a command stands for.

Its own module so the handlers that ask (commands, acting on someone else's account,
the home screen, the engine) import it rather than each other.
"""

from __future__ import annotations

from enum import IntEnum

from bot.handlers.base import Turn
from bot.integrations.directory import DirectoryError

__all__ = ["Role", "is_engineer", "person", "role_of"]


class Role(IntEnum):
    """Who may run a subcommand; a higher role may run everything a lower one may."""

    REQUESTER = 1
    ENGINEER = 2
    SUPERVISOR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


async def _groups(turn: Turn, email: str | None) -> set[str]:
    try:
        if email is None:
            account = await turn.account("role_check")
        else:
            account = await turn.services.directory.find_by_email(email)
        return set(await turn.services.directory.groups(account))
    except DirectoryError:
        return set()


async def role_of(turn: Turn, email: str | None = None) -> Role:
    """The highest role `email` (default: the actor) holds; a directory that cannot answer
    makes everyone a requester (the safe side)."""
    roles = turn.services.settings.roles
    groups = await _groups(turn, email)
    if groups & set(roles.supervisor_groups):
        return Role.SUPERVISOR
    if groups & set(roles.engineer_groups):
        return Role.ENGINEER
    return Role.REQUESTER


async def is_engineer(turn: Turn, email: str | None = None) -> bool:
    """Whether `email` (default: the actor) is in an engineer or supervisor group."""
    return await role_of(turn, email) >= Role.ENGINEER


def person(turn: Turn, name: str) -> str:
    """`@ho.kawai` → ho.kawai@<the actor's domain>; `someone@corp` stays as it is."""
    name = name.lstrip("@")
    if "@" in name:
        return name.lower()
    domain = (turn.msg.actor.email or "@").split("@", 1)[1]
    return f"{name.lower()}@{domain}" if domain else name.lower()
