"""Who the asker is to the helpdesk, from the directory (never a name typed in chat),
and how people are named to others."""

from __future__ import annotations

from bot.handlers.base import Turn
from bot.handlers.commands.registry import Role
from bot.handlers.people import display_name
from bot.integrations.directory import DirectoryError

__all__ = ["display_name", "is_engineer", "person", "role_of"]


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
