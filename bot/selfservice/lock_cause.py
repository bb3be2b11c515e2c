"""Why am I locked: what the directory can tell about what keeps locking an account.

From Entra's failed sign-ins of the last `_WINDOW` (grouped by application and client, the
biggest group named: "14 failed sign-ins from Exchange ActiveSync on a phone since 09:05")
or else AD's wrong-password count on the DC read (`badPwdCount`, `badPasswordTime`), with
advice that fits the client: a phone or mail app with an old password, a browser, or
something unknown. It is part of telling a person their own account is locked, which is a
read and writes no audit record of its own (the unlock that follows does); a directory that
cannot say leaves the sentence out (the unlock itself does not depend on it).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from bot.integrations.directory import Account, DirectoryError, FailedSignIn, SignInTrouble
from bot.selfservice.context import ActionContext, Outcome

log = logging.getLogger(__name__)
_WINDOW = timedelta(hours=24)
_DEVICE_CLIENTS = (
    "mobile",
    "activesync",
    "imap",
    "pop",
    "smtp",
    "other clients",
    "exchange web services",
    "autodiscover",
    "mapi",
)


def _advice(failures: list[FailedSignIn]) -> str:
    client = failures[0].client.lower()
    if any(word in client for word in _DEVICE_CLIENTS):
        return "lockcause.advice_device"
    if "browser" in client:
        return "lockcause.advice_browser"
    return "lockcause.advice_unknown"


def cause(ctx: ActionContext, trouble: SignInTrouble) -> Outcome | None:
    """The sentence that says what is locking the account, or None when nothing shows."""
    t = ctx.t
    now = ctx.services.clock()
    recent = [f for f in trouble.failures if f.at >= now - _WINDOW]
    if recent:
        counts = Counter((f.app, f.client) for f in recent)
        (app, client), count = counts.most_common(1)[0]
        group = [f for f in recent if (f.app, f.client) == (app, client)]
        place = group[0].location
        return Outcome(
            "lockcause.entra",
            {
                "count": count,
                "app": app,
                "client": client or "?",
                "place": t("lockcause.place", place=place) if place else "",
                "since": ctx.local_time(min(f.at for f in group)),
                "advice": t(_advice(group)),
            },
        )
    if trouble.bad_password_count and trouble.last_bad_password:
        return Outcome(
            "lockcause.ad",
            {
                "count": trouble.bad_password_count,
                "when": ctx.local_time(trouble.last_bad_password),
                "advice": t("lockcause.advice_unknown"),
            },
        )
    return None


async def explain_lockout(ctx: ActionContext, account: Account) -> Outcome | None:
    """Read the account's sign-in trouble and say what is locking it, if anything."""
    try:
        trouble = await ctx.services.directory.sign_in_trouble(account)
    except DirectoryError as exc:
        log.info("no lockout cause for request %s: %s", ctx.request_id, type(exc).__name__)
        return None
    return cause(ctx, trouble)
