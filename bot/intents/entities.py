"""What a message names, in English and Cantonese: ticket refs, products, groups and shares,
people, urgency, yes / no, ratings.

`find_entities(text)` returns an `Entities` of typed, frozen values, each with the words it
was read from. The intent model uses their kinds as features (`HD-1042 搞成點` carries a
ticket ref whatever the words around it); handlers and later flows use the values.

Rules worth knowing:
- Ticket refs: `HD-1042`, `hd1042`, `hd 1042`, `#HD-12`, `#1042` (3+ digits), `ticket 1042`.
  `\\b` does not separate a Chinese character from a letter (both are word characters),
  so refs are bounded by "not an ASCII letter or digit" instead: `我張單HD-1042點呀` works.
- Products: the names people ask for in `bot/integrations/m365_skus.toml` (`[products]`,
  `[sku_products]`) plus a few spellings (`o365`, `m365`, `pbi`), longest first.
- Groups: `\\\\server\\share` paths are shares; `dl-trading` / `sg-research` style names and
  the one or two words before "group", "grp", "DL", "組" (`the trading floor group` →
  `trading floor`) are groups. A "shared mailbox" is a group of kind `mailbox`.
- Yes / no and ratings are read from a whole short answer, as people type them to a
  question the bot asked ("ok", "好呀", "5 stars", 「五粒星」, "4/5").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal

from bot.integrations.skus import sku_catalogue

_NOT_ALNUM_BEFORE: Final = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER: Final = r"(?![A-Za-z0-9])"
_TICKET_RE: Final = re.compile(
    _NOT_ALNUM_BEFORE + r"#?hd[-_ ]?#?(\d{1,9})(?!\d)"
    r"|(?<![A-Za-z0-9#])#(\d{3,9})(?!\d)"
    r"|" + _NOT_ALNUM_BEFORE + r"(?:ticket|case|tkt|單)\s*(?:no\.?\s*)?#?\s*(\d{3,9})(?!\d)",
    re.IGNORECASE,
)
_EMAIL_RE: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SHARE_RE: Final = re.compile(r"\\\\[A-Za-z0-9._-]+(?:\\[^\s\\，。？！,?!]+)+")
_PREFIXED_GROUP_RE: Final = re.compile(
    _NOT_ALNUM_BEFORE + r"((?:sg|dl|gg|grp|gs)[-_][A-Za-z0-9][\w-]*)", re.IGNORECASE
)
_GROUP_WORD: Final = r"(?:security group|distribution list|mailing list|group|grp|dl|組)"
_NAMED_GROUP_RE: Final = re.compile(
    r"([A-Za-z0-9][\w&.-]*(?:[ ][A-Za-z0-9][\w&.-]*)?)\s*" + _GROUP_WORD + _NOT_ALNUM_AFTER,
    re.IGNORECASE,
)
_MAILBOX_RE: Final = re.compile(
    r"([A-Za-z0-9][\w&.-]*)\s*(?:shared mailbox|共用信箱|shared inbox)", re.IGNORECASE
)
_NOT_A_NAME: Final = frozenset(
    "the a an my our this that which what any some in of to on from for into me i am is are "
    "security distribution mailing ad all access add join".split()
)
_PRODUCT_SPELLINGS: Final = ("o365", "office 365", "m365", "microsoft 365", "pbi", "powerbi")
_URGENT_WORDS: Final = (
    "urgent",
    "urgently",
    "asap",
    "emergency",
    "critical",
    "p1",
    "sev1",
    "immediately",
    "right now",
    "outage",
    "急",
    "好急",
    "緊急",
    "即刻",
    "馬上",
    "盡快",
)
_YES_WORDS: Final = frozenset(
    "y,yes,yep,yeah,yea,ok,okay,sure,please,pls,go ahead,do it,yes please,ok la,ok lor,"
    "好,係,得,好呀,係呀,得呀,ok呀,好啊,要,要呀,好的,可以,冇問題,確定,好吖,得啦".split(",")
)
_NO_WORDS: Final = frozenset(
    "n,no,nope,nah,not now,later,dont,don't,no thanks,no thank you,"
    "唔好,唔要,不,唔使,唔洗,唔駛,唔係,遲啲,唔使喇,唔好喇,不用".split(",")
)
_APPROVAL_WORDS: Final = {
    **dict.fromkeys(
        "approve,approved,approve it,ok approve,i approve,批准,批,批啦,同意,准".split(","), True
    ),
    **dict.fromkeys(
        "deny,denied,reject,decline,i deny,拒絕,唔批,唔批准,唔同意,唔准".split(","), False
    ),
}
_THANKS_BYE_WORDS: Final = frozenset(
    "thanks,thank you,thx,ty,tks,thanks a lot,many thanks,bye,bye bye,byebye,goodbye,cheers,"
    "see you,thanks bye,ok thanks,ok thank you,ok thx,ok bye,got it thanks,noted thanks,"
    "唔該,唔該晒,多謝,多謝晒,謝謝,拜拜,得喇唔該,好喇唔該,ok唔該,ok 唔該,ok唔該晒,收到唔該".split(
        ","
    )
)
_HAN_DIGITS: Final = {"一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_RATING_RE: Final = re.compile(
    r"^\s*(?:俾|畀|給|打|(?:i )?give(?: it)?|rate(?: it)?)?\s*"
    r"(?P<n>[1-5一二兩两三四五])\s*(?:"
    r"stars?|/\s*5|out of 5|分|粒星|顆星|星|⭐+)\s*[!.。！]*\s*$"
    r"|^\s*(?:give(?: it)?|rate(?: it)?)?\s*(?P<word>one|two|three|four|five)\s+stars?\s*[!.]*\s*$"
    r"|^\s*(?P<emoji>⭐{1,5})\s*$",
    re.IGNORECASE,
)
_NUMBER_WORDS: Final = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_LEADING_RATING_RE: Final = re.compile(
    r"^\s*(?:(?P<n>[1-5])\s*(?:/\s*5|out of 5|stars?|粒星|顆星)|(?P<emoji>⭐{1,5}))"
    r"(?P<rest>(?:[\s,，.。!！:：;；-]+|(?<=[星5])(?=[\u3400-\u9fff])).*\S.*)$",
    re.IGNORECASE | re.DOTALL,
)

GroupKind = Literal["group", "mailbox"]


@dataclass(frozen=True)
class TicketRef:
    """A ticket named in the message: `number` 1042 from "HD-1042"."""

    number: int
    text: str


@dataclass(frozen=True)
class Product:
    """A product or licence people ask for, by its catalogue name (`power bi pro`)."""

    name: str
    text: str


@dataclass(frozen=True)
class Group:
    """A group, distribution list or shared mailbox named by the user (not yet looked up)."""

    name: str
    kind: GroupKind
    text: str


@dataclass(frozen=True)
class Share:
    """A file share path: `\\\\fs01\\finance`."""

    path: str


@dataclass(frozen=True)
class Person:
    """Someone named by email address."""

    email: str


@dataclass(frozen=True)
class Entities:
    """Everything `find_entities` read from one message."""

    tickets: tuple[TicketRef, ...] = ()
    products: tuple[Product, ...] = ()
    groups: tuple[Group, ...] = ()
    shares: tuple[Share, ...] = ()
    people: tuple[Person, ...] = ()
    urgent: tuple[str, ...] = ()
    """The urgency words used ("urgent", "好急")."""
    answer: bool | None = None
    """A whole-message yes (True) or no (False); None for anything else."""
    rating: int | None = None
    """A whole-message rating 1-5 ("5 stars", 「五粒星」)."""

    def kinds(self) -> tuple[str, ...]:
        """The kinds present, as feature tags for the intent model (`ticket_ref`, `urgent`)."""
        present = {
            "ticket_ref": bool(self.tickets),
            "product": bool(self.products),
            "group": any(g.kind == "group" for g in self.groups),
            "mailbox": any(g.kind == "mailbox" for g in self.groups),
            "share": bool(self.shares),
            "person": bool(self.people),
            "urgent": bool(self.urgent),
            "yes": self.answer is True,
            "no": self.answer is False,
            "rating": self.rating is not None,
        }
        return tuple(kind for kind, here in present.items() if here)


def find_entities(text: str) -> Entities:
    """Read the entities of one message (any length; cheap)."""
    folded = unicodedata.normalize("NFKC", text)
    lower = folded.lower()
    return Entities(
        tickets=_tickets(folded),
        products=_products(lower),
        groups=_groups(folded),
        shares=tuple(Share(m.group(0)) for m in _SHARE_RE.finditer(folded)),
        people=tuple(Person(m.group(0).lower()) for m in _EMAIL_RE.finditer(folded)),
        urgent=tuple(w for w in _URGENT_WORDS if _has_word(lower, w)),
        answer=yes_or_no(folded),
        rating=rating(folded),
    )


def yes_or_no(text: str) -> bool | None:
    """True for a whole-message yes ("y", "ok", "好"), False for a no, else None."""
    answer = re.sub(r"[^\w\s']", "", text.strip().lower())
    if answer in _YES_WORDS:
        return True
    if answer in _NO_WORDS:
        return False
    return None


_LEAD: Final = re.compile(r"^\s*([^\s,，、:：!！.。]+)[\s,，、:：!！.。]*(.*)$", re.DOTALL)
_HAN_CHAR: Final = re.compile(r"[\u3400-\u9fff]")
_SHORT_REST: Final = 4
"""Words (or, for Chinese, 2 characters a word) a yes or no may lead: `yes open it`,
「係，幫我解鎖」; a longer message ("yes but Outlook crashes too") says more than yes."""


def confirmation(text: str) -> bool | None:
    """A yes or no to the question waiting: a whole-message yes/no (`yes_or_no`), or one
    leading a few words that add nothing new (no ticket ref, no question): `yes open it`,
    "no thanks, not now", 「係，幫我解鎖」; else None."""
    whole = yes_or_no(text)
    if whole is not None:
        return whole
    lead = _LEAD.match(unicodedata.normalize("NFKC", text).lower())
    if lead is None:
        return None
    answer = yes_or_no(lead.group(1))
    rest = lead.group(2).strip()
    if answer is None or "?" in rest or _TICKET_RE.search(rest):
        return None
    words = len(_HAN_CHAR.sub(" ", rest).split()) + len(_HAN_CHAR.findall(rest)) // 2
    return answer if words <= _SHORT_REST else None


def bare_answer(text: str) -> bool:
    """A message that can only answer a question: a number ("1", "２", "#3"), a yes or a no.
    With no question waiting it is no request, and it is never a ticket's summary."""
    folded = unicodedata.normalize("NFKC", text).strip(" .!。！#")
    return folded.isdecimal() or yes_or_no(folded) is not None


def approval_answer(text: str) -> bool | None:
    """An approver's whole-message answer: True for "approve" / 「批准」, False for "deny" /
    「拒絕」, None for anything else."""
    words = re.sub(r"[^\w\s']", " ", unicodedata.normalize("NFKC", text).lower())
    return _APPROVAL_WORDS.get(" ".join(words.split()))


def thanks_or_bye(text: str) -> bool:
    """True for a whole-message thanks or goodbye ("thx", "ok bye", 「唔該晒」, 「拜拜」)."""
    words = re.sub(r"[^\w\s']", " ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(words.split()) in _THANKS_BYE_WORDS


def rating(text: str) -> int | None:
    """A whole-message rating 1-5: "5 stars", "4/5", "five stars", 「五粒星」, 「俾五粒星」,
    "⭐⭐⭐"; a ticket ref beside it does not count ("HD-1002 5 stars")."""
    folded = _TICKET_RE.sub(" ", unicodedata.normalize("NFKC", text))
    match = _RATING_RE.match(folded)
    if match is None:
        return None
    if match.group("emoji"):
        return len(match.group("emoji"))
    if match.group("word"):
        return _NUMBER_WORDS[match.group("word").lower()]
    n = match.group("n")
    return int(n) if n.isdigit() else _HAN_DIGITS[n]


def rating_with_words(text: str) -> tuple[int, str] | None:
    """A rating that opens a message with words after it ("5/5 好快手 多謝", "4 stars,
    quick fix", "⭐⭐⭐⭐⭐ thanks!"): the score and the words, which are a comment on the
    help. Only a score written as one ("/5", "stars", 「粒星」, ⭐) counts: a bare "5 ..." is
    not; a ticket ref beside it does not count either (`rating`)."""
    folded = unicodedata.normalize("NFKC", text)
    if _TICKET_RE.search(folded):
        return None
    match = _LEADING_RATING_RE.match(folded)
    if match is None:
        return None
    score = len(match.group("emoji")) if match.group("emoji") else int(match.group("n"))
    return score, match.group("rest").strip(" ,，.。:：;；-")


def _tickets(text: str) -> tuple[TicketRef, ...]:
    found: dict[int, TicketRef] = {}
    for match in _TICKET_RE.finditer(text):
        digits = next(g for g in match.groups() if g)
        found.setdefault(int(digits), TicketRef(int(digits), match.group(0).strip()))
    return tuple(found.values())


@cache
def _product_re() -> re.Pattern[str]:
    catalogue = sku_catalogue()
    names = {*catalogue.get("products", {}), *catalogue.get("sku_products", {})}
    names.update(_PRODUCT_SPELLINGS)
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(
        _NOT_ALNUM_BEFORE + "(" + "|".join(re.escape(n) for n in ordered) + ")" + _NOT_ALNUM_AFTER
    )


def _products(lower: str) -> tuple[Product, ...]:
    names = dict.fromkeys(m.group(1) for m in _product_re().finditer(lower))
    return tuple(Product(name, name) for name in names)


def _groups(text: str) -> tuple[Group, ...]:
    found: dict[str, Group] = {}
    for match in _PREFIXED_GROUP_RE.finditer(text):
        found.setdefault(match.group(1).lower(), Group(match.group(1), "group", match.group(0)))
    for match in _MAILBOX_RE.finditer(text):
        name = _name_of(match.group(1))
        if name:
            found.setdefault(name.lower(), Group(name, "mailbox", match.group(0)))
    for match in _NAMED_GROUP_RE.finditer(text):
        name = _name_of(match.group(1))
        if name and not any(name.lower() in key for key in found):
            found.setdefault(name.lower(), Group(name, "group", match.group(0).strip()))
    return tuple(found.values())


def _name_of(words: str) -> str:
    """The name part of the words before "group": stop words at the front are not a name."""
    kept = words.split()
    while kept and kept[0].lower() in _NOT_A_NAME:
        kept = kept[1:]
    while kept and kept[-1].lower() in _NOT_A_NAME:
        kept = kept[:-1]
    return " ".join(kept)


def _has_word(lower: str, word: str) -> bool:
    if word.isascii():
        return re.search(_NOT_ALNUM_BEFORE + re.escape(word) + _NOT_ALNUM_AFTER, lower) is not None
    return word in lower
