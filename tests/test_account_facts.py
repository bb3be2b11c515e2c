"""Account facts first: disabled, locked, expired or must-change starts the answer, whatever
was asked; one directory read per message; nothing for unrelated questions; a directory that
is down never blocks the answer."""

from __future__ import annotations

from pathlib import Path

from bot.integrations.demo import DemoDirectory
from bot.integrations.directory import Account, Unavailable
from bot.messages import Actor, Incoming
from tests.harness import ROOT, BotHarness, text_of

LOCKED = "chan.taiman@corp.example.com"
DISABLED = "chow.kwokleung@corp.example.com"
EXPIRED = "mak.sukyee@corp.example.com"  # expired 8 Nov 2026; the harness clock is 21 Nov
MUST_CHANGE = "kwok.manyi@corp.example.com"
FINE = "lee.kachun@corp.example.com"


class CountingDirectory(DemoDirectory):
    """The demo users, counting how often an account is looked up."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads = 0

    async def find_by_email(self, email: str) -> Account:
        self.reads += 1
        return await super().find_by_email(email)


class DownDirectory(DemoDirectory):
    """A directory that cannot be reached."""

    async def find_by_email(self, email: str) -> Account:
        raise Unavailable("connection timed out")


def _with(bot: BotHarness, directory: DemoDirectory) -> None:
    bot.services = bot.services.__class__(**{**bot.services.__dict__, "directory": directory})
    bot.engine.services = bot.services


def _counting(bot: BotHarness) -> CountingDirectory:
    directory = CountingDirectory(ROOT / "data" / "demo-directory.json")
    _with(bot, directory)
    return directory


def test_locked_outlook_question_starts_with_unlock_first(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=LOCKED)
    replies = bot.say("outlook keeps asking for my password")
    assert replies[0].text.startswith("First: your account is locked (since 21 Nov 2026")
    assert "unlock it first" in replies[0].text
    assert "My account is locked" in [c.label for c in replies[0].choices]
    assert len(replies) > 1 and replies[-1].cards  # the articles still follow
    bot.last_choices = replies[0].choices
    assert "Shall I unlock it now?" in text_of(bot.click("My account is locked"))


def test_locked_outlook_question_in_cantonese(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=LOCKED)
    replies = bot.say("Outlook 成日叫我入密碼")
    assert replies[0].text.startswith("首先：你個 account 鎖咗")
    assert "我個 account 鎖咗" in [c.label for c in replies[0].choices]


def test_disabled_account_says_who_can_re_enable_it(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=DISABLED)
    first = bot.say("can't sign in to outlook")[0].text
    assert "disabled" in first and "service desk can re-enable" in first and "ext. 4357" in first
    zh = bot.say("Teams 登入唔到")[0].text
    assert "停用咗" in zh and "ext. 4357" in zh


def test_expired_password_from_home_says_vpn_refuses_it_and_whom_to_call(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path, user=EXPIRED)
    first = bot.say("vpn won't connect when I work from home")[0]
    assert first.text.startswith("First: your password expired on 08 Nov 2026")
    assert "VPN will refuse it" in first.text and "ext. 4357" in first.text
    assert "Password help" in [c.label for c in first.choices]
    zh = bot.say("喺屋企連唔到VPN")[0].text
    assert "過咗期" in zh and "VPN 會拒絕" in zh and "遙距" in zh


def test_must_change_in_the_office_says_how_to_change_it(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=MUST_CHANGE)
    first = bot.say("outlook keeps asking for my password")[0].text
    assert "must be changed" in first and "Ctrl+Alt+Del" in first
    assert "VPN" not in first


def test_an_account_in_order_gets_no_fact(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=FINE)
    replies = bot.say("outlook keeps asking for my password")
    assert not any(r.text.startswith("First:") for r in replies)
    assert replies[0].cards


def test_a_question_about_something_else_never_reads_the_directory(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=LOCKED)
    directory = _counting(bot)
    text = text_of(bot.say("the printer on 25F is jammed"))
    text += text_of(bot.say("teams camera not working"))
    text += text_of(bot.say("打印機卡紙"))
    assert "locked" not in text and "鎖" not in text
    assert directory.reads == 0


def test_a_licence_check_reads_the_account_once_and_starts_with_the_lock(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path, user=LOCKED)
    directory = _counting(bot)
    replies = bot.say("do I have Visio?")
    assert replies[0].text.startswith("First: your account is locked")
    assert "Visio" in replies[1].text
    assert directory.reads == 1
    bot.say("我有咩license")
    assert directory.reads == 2  # one more message, one more read


def test_directory_down_still_answers_the_question(tmp_path: Path) -> None:
    bot = BotHarness(tmp_path, user=LOCKED)
    _with(bot, DownDirectory(ROOT / "data" / "demo-directory.json"))
    replies = bot.say("outlook keeps asking for my password")
    assert replies[0].cards and not replies[0].text.startswith("First:")
    assert "went wrong" not in text_of(replies)


def test_without_a_verified_email_the_answer_is_given_and_nothing_is_audited(
    tmp_path: Path,
) -> None:
    bot = BotHarness(tmp_path)
    actor = Actor(platform="test", user_id="U-guest", email=None)
    replies = bot.send(
        Incoming(
            actor=actor, conversation_id="dm-guest", text="outlook keeps asking for my password"
        )
    )
    assert replies[0].cards
    assert bot.rows("SELECT count(*) FROM audit_log") == [(0,)]
