"""A self-service `Outcome` said in the conversation: its catalogue message in the turn's
language, the next steps it offers as buttons, private and deleted where it says so."""

from __future__ import annotations

from bot.handlers.base import Turn, intent_choice
from bot.messages import Reply
from bot.selfservice.context import Outcome


def said(turn: Turn, outcome: Outcome) -> list[Reply]:
    """The reply that tells the actor `outcome`."""
    t = turn.t
    return [
        Reply(
            t(outcome.key, **outcome.params),
            choices=tuple(intent_choice(t, intent) for intent in outcome.offered),
            private=outcome.private,
            delete_after_s=outcome.delete_after_s,
        )
    ]
