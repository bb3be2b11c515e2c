"""Which language a message is in.

Hong Kong staff mix English and Chinese in one sentence ("我個account鎖咗"). The
rule is simple and documented: any Han character makes the message Chinese and
the reply Traditional Chinese (Cantonese register); otherwise English.

Some messages are in no language: a ticket ref, a number, one word ("ok", "HD-1002",
"1", "5/5"). `reply_language` answers those in the language the person last wrote in,
and a language the person asked for ("English please", 「講中文」, `asked_language`)
wins over what they write until they ask for the other one.
"""

from __future__ import annotations

import re
import unicodedata

from bot.messages import Lang

_WORD = re.compile(r"[A-Za-z]+")
_TICKET_REF = re.compile(r"(?<![A-Za-z0-9])#?hd[-_ ]?\d+", re.IGNORECASE)
_HEX_ID = re.compile(
    r"(?<![A-Za-z0-9])(?=[0-9A-Fa-f-]*\d)[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{1,12})*(?![A-Za-z0-9])"
)
"""A key id or GUID (a BitLocker "Recovery key ID" typed back): its letters are no words."""
_ASK_ENGLISH = re.compile(
    r"^(?:(?:in|reply in|speak|use|answer in)\s+)?english(?:\s+(?:please|pls|plz))?"
    r"|^(?:請|唔該)?(?:講|用|要)?英文(?:啦|吖|呀|得唔得|唔該)?$",
    re.IGNORECASE,
)
_ASK_CHINESE = re.compile(
    r"^(?:(?:in|reply in|speak|use|answer in)\s+)?(?:chinese|cantonese)(?:\s+(?:please|pls|plz))?"
    r"|^(?:請|唔該)?(?:講|用|要)?(?:中文|廣東話)(?:啦|吖|呀|得唔得|唔該)?$",
    re.IGNORECASE,
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")


def detect_language(text: str) -> Lang:
    """Return "zh-Hant" when `text` contains a Han character, else "en"."""
    return "zh-Hant" if _HAN.search(text) else "en"


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def asked_language(text: str) -> Lang | None:
    """The language a whole message asks the bot to reply in ("English please", 「講中文」)."""
    folded = " ".join(unicodedata.normalize("NFKC", text).strip(" .!。！?？").split())
    if _ASK_ENGLISH.fullmatch(folded):
        return "en"
    if _ASK_CHINESE.fullmatch(folded):
        return "zh-Hant"
    return None


def written_in(text: str) -> Lang | None:
    """The language a message is written in; None when it has no words to tell by (a ticket
    ref, a key id, a number, a rating, a single English word such as "ok" or "thx")."""
    if has_han(text):
        return "zh-Hant"
    words = _WORD.findall(_HEX_ID.sub(" ", _TICKET_REF.sub(" ", text)))
    return "en" if len(words) >= 2 else None


def reply_language(text: str, remembered: Lang | None, chosen: bool, fallback: Lang) -> Lang:
    """The language to answer `text` in: the one the person asked for, else the one the
    message is written in, else the one they last wrote in, else `fallback`."""
    if chosen and remembered is not None:
        return remembered
    return written_in(text) or remembered or fallback
