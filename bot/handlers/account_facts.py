"""Account facts first: when the directory says the account is disabled, locked, or its
password expired or must be changed, the answer starts from that, whatever was asked.

- disabled: nothing works until the service desk re-enables it (the phone, a person);
- locked: "Outlook keeps failing" is the lock: unlock first (a button);
- expired or must change: sign-ins fail; working from home, VPN refuses it too, so the
  fact says how to change it remotely (a cloud account: at the Microsoft sign-in page;
  an on-prem one over VPN cannot, so call the service desk) or on a company PC.

Which messages: knowledge questions about signing in and passwords, or about Outlook, Teams,
VPN and the like failing to connect (`about_the_account`), and the licence and group checks,
which read the account anyway. Never a question with nothing to do with the account ("the
printer on 25F is jammed", "Teams camera not working"). The
account is read at most once per message (`Turn.account` keeps it for the message), and a
directory that cannot answer, or an identity it refuses, leaves the answer as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.handlers.base import Turn, human_choice, intent_choice
from bot.integrations.directory import Account, DirectoryError
from bot.messages import Reply

_A = r"(?<![a-z])"
"""Start of a Latin word: not after a letter (Chinese characters count as word characters
for `\\b`, so "連唔到VPN" would have no boundary)."""
_Z = r"(?![a-z])"
_SIGN_IN = re.compile(
    rf"sign[\s-]?(?:in|on)|log[\s-]?(?:in|on)|password|passwd|{_A}pw{_Z}|locked|lock(?:ed)? out|"
    rf"{_A}account|{_A}acc{_Z}|{_A}mfa{_Z}|authenticator|credential|"
    r"登入|登錄|密碼|戶口|帳戶|賬戶|帳號|賬號|鎖|入唔到",
    re.IGNORECASE,
)
"""Words about signing in itself: the account's state may be the whole answer."""
_PRODUCT = re.compile(
    rf"outlook|{_A}teams{_Z}|{_A}vpn|e-?mail|{_A}mail{_Z}|onedrive|sharepoint|office\s?365|"
    rf"{_A}[mo]365|citrix|remote desktop|wi-?fi|電郵|郵件",
    re.IGNORECASE,
)
_CONNECT = re.compile(
    r"connect|sync|offline|keeps? asking|prompt|can'?t (?:get in|access|open)|"
    r"cannot (?:get in|access|open)|won'?t (?:open|start|let)|"
    r"連唔到|連接|同步|斷線|開唔到|上唔到|用唔到",
    re.IGNORECASE,
)
"""A product that signs in (Outlook, Teams, VPN...) failing to connect: the account's state
may be why. "Teams camera not working" is neither."""
_REMOTE = re.compile(
    rf"{_A}home{_Z}|{_A}wfh{_Z}|remote|{_A}vpn|outside|overseas|travel|"
    r"屋企|在家|出差|外面|遙距|家中",
    re.IGNORECASE,
)


def about_the_account(text: str) -> bool:
    """Whether a question touches signing in (so the account's state may be its answer)."""
    return _SIGN_IN.search(text) is not None or (
        _PRODUCT.search(text) is not None and _CONNECT.search(text) is not None
    )


def fact_for(turn: Turn, account: Account) -> Reply | None:
    """The fact the answer starts from, or None when the account is in order."""
    t = turn.t
    phone = turn.services.settings.bot.support_phone
    if not account.enabled:
        return Reply(t("facts.disabled", phone=phone), choices=(human_choice(t),))
    if account.locked:
        since = (
            t("unlock.since", when=turn.local_time(account.locked_at)) if account.locked_at else ""
        )
        return Reply(
            t("facts.locked", since=since),
            choices=(intent_choice(t, "unlock"), human_choice(t)),
        )
    expires = account.password_expires
    if expires is not None and expires <= turn.services.clock():
        fact = t("facts.expired", when=turn.local_time(expires))
    elif account.must_change_password:
        fact = t("facts.must_change")
    else:
        return None
    if _REMOTE.search(turn.msg.text):
        how = t("facts.remote_cloud" if account.source == "cloud" else "facts.remote", phone=phone)
    else:
        how = t("facts.office")
    return Reply(f"{fact} {how}", choices=(intent_choice(t, "password_reset"), human_choice(t)))


async def account_fact(turn: Turn, action: str = "account_facts") -> Reply | None:
    """The fact for the actor's account; None when the directory cannot say (never blocks).
    Without a verified email there is no account to read (and no refusal worth auditing)."""
    if not turn.msg.actor.email:
        return None
    try:
        account = await turn.account(action)
    except DirectoryError:
        return None
    return fact_for(turn, account)


async def fact_before_question(turn: Turn, offered: Sequence[str]) -> Reply | None:
    """The account's fact to put before a clarify question offering the intents `offered`,
    unless the question already offers its remedy: a locked account asked "unlock or reset?"
    needs no "first: unlock it" above the question; a disabled one always hears who can
    re-enable it."""
    if not turn.msg.actor.email:
        return None
    try:
        account = await turn.account("account_facts")
    except DirectoryError:
        return None
    if account.enabled and account.locked and "unlock" in offered:
        return None
    expired = account.password_expires is not None and (
        account.password_expires <= turn.services.clock()
    )
    if (
        account.enabled
        and not account.locked
        and "password_reset" in offered
        and (expired or account.must_change_password)
    ):
        return None
    return fact_for(turn, account)


async def facts_first(turn: Turn, action: str, replies: list[Reply]) -> list[Reply]:
    """`replies` with the account's fact in front of them, if there is one."""
    fact = await account_fact(turn, action)
    return [fact, *replies] if fact else replies
