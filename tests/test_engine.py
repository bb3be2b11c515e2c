"""The engine's edges: redelivery, bad input, secrets, and the error boundary."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from bot.errors import UserFacingError
from bot.handlers import default_handlers
from bot.handlers.base import Turn
from bot.messages import Actor, Incoming, Reply
from bot.store.conversations import PendingFlow
from tests.harness import BotHarness, text_of


def test_a_redelivered_event_is_answered_once(bot: BotHarness) -> None:
    first = bot.say("talk to a human", event_id="Ev1")
    again = [bot.say("talk to a human", event_id="Ev1") for _ in range(3)]
    assert first and again == [[], [], []]


def test_the_same_confirmation_delivered_twice_opens_one_ticket(bot: BotHarness) -> None:
    bot.say("open a ticket")
    bot.say("my monitor is flickering")
    actor = bot.actor()
    click = Incoming(
        actor=actor,
        conversation_id=f"dm-{actor.email}",
        text="",
        choice="ticket:open",
        event_id="Ev9",
    )
    assert "HD-1001" in text_of(bot.send(click))
    assert bot.send(click) == []
    assert bot.rows("SELECT count(*) FROM tickets") == [(1,)]


def test_empty_and_whitespace_messages_get_a_clear_reply(bot: BotHarness) -> None:
    for text in ["", "   ", "\n\t", "\x00\x01\x02"]:
        assert "looked empty" in text_of(bot.say(text))


def test_a_100_kb_message_is_cut_and_answered(bot: BotHarness) -> None:
    replies = bot.say("my vpn will not connect " * 4200)
    assert len("my vpn will not connect " * 4200) > 100_000
    assert "first 4,000 characters" in replies[0].text
    assert len(replies) >= 2


def test_binary_junk_gets_an_answer_not_an_error(bot: BotHarness) -> None:
    junk = bytes(range(256)).decode("latin-1") + "\ufffd\ufffd"
    replies = bot.say(junk)
    assert replies and "went wrong" not in text_of(replies)


def test_markup_and_sql_in_text_are_just_text(bot: BotHarness) -> None:
    bot.say("open a ticket")
    bot.say("<!channel> '); DROP TABLE tickets; -- *bold* <https://evil|SSO>")
    bot.click("Open ticket")
    assert bot.rows("SELECT summary FROM tickets") == [
        ("<!channel> '); DROP TABLE tickets; -- *bold* <https://evil|SSO>",)
    ]


def test_a_typed_password_is_redacted_before_storing_and_the_user_warned(bot: BotHarness) -> None:
    bot.say("open a ticket")
    replies = bot.say("cannot log in, my password is Winter2026!x and it fails")
    assert "delete your message and change that password" in replies[0].text
    assert replies[0].private
    bot.click("Open ticket")
    assert bot.rows("SELECT summary FROM tickets") == [
        ("cannot log in, my password is [redacted] and it fails",)
    ]
    bot.services.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    for path in Path(bot.data_dir).iterdir():
        assert b"Winter2026!x" not in path.read_bytes(), path.name


class Exploding:
    """Fails on purpose (test handler)."""

    intent: ClassVar[str] = "greeting"

    async def handle(self, turn: Turn) -> list[Reply]:
        raise RuntimeError("database password=hunter2 in a stack trace")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None


class Refusing:
    """Refuses with a user-facing message (test handler)."""

    intent: ClassVar[str] = "greeting"

    async def handle(self, turn: Turn) -> list[Reply]:
        raise UserFacingError("directory.throttled")

    async def resume(self, turn: Turn, pending: PendingFlow) -> list[Reply] | None:
        return None


def _with(handler: object, tmp_path: Path) -> BotHarness:
    handlers = [h for h in default_handlers() if h.intent != "greeting"] + [handler]
    return BotHarness(tmp_path, handlers=handlers)  # type: ignore[arg-type]


def test_an_unexpected_error_shows_a_reference_never_the_exception(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    bot = _with(Exploding(), tmp_path)
    replies = bot.say("hello")
    text = text_of(replies)
    assert "something went wrong on my side (ref " in text
    assert "hunter2" not in text and "RuntimeError" not in text
    ref = text.split("(ref ")[1][:4]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    assert bot.labels() == ["Talk to a person"]


def test_a_user_facing_error_shows_its_message(tmp_path: Path) -> None:
    bot = _with(Refusing(), tmp_path)
    assert "directory is busy" in text_of(bot.say("hello"))


def test_an_old_button_after_the_flow_ended_is_explained(bot: BotHarness) -> None:
    bot.say("my account is locked")
    bot.say("cancel")
    actor = bot.actor()
    replies = bot.send(
        Incoming(actor=actor, conversation_id=f"dm-{actor.email}", text="", choice="unlock:yes")
    )
    assert "earlier conversation" in text_of(replies)
    assert bot.rows("SELECT count(*) FROM audit_log") == [(0,)]


def test_a_platform_user_without_a_verified_email_cannot_act(bot: BotHarness) -> None:
    actor = Actor(platform="test", user_id="U0", email=None)
    replies = bot.send(Incoming(actor=actor, conversation_id="dm-x", text="unlock my account"))
    assert "couldn't find your account" in text_of(replies)
