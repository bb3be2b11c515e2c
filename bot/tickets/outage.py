"""Words that say work has stopped for trading or for many people, in English and Cantonese.

A message reads as an outage when it says trading itself has stopped ("can't trade",
「落唔到單」), or when one clause names something the desk or many people depend on
(order entry, market data, the whole floor, everyone, 成層, 全部人) together with a failure
("down", "not working", 「用唔到」, 「死咗」). The clause rule keeps "can everyone see my
calendar? I can't share it" from reading as an outage: the scope and the failure are in
two sentences. An outage is proposed as a P1 (`bot.tickets.proposal`) and, for a fault
report or a question, answered first with the urgent phone line (`bot.handlers.outage`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_STOPPED: Final = (
    "can't trade",
    "cannot trade",
    "cant trade",
    "can not trade",
    "unable to trade",
    "trading is down",
    "trading down",
    "trading halted",
    "落唔到單",
    "落單唔到",
    "落唔到order",
    "落唔到 order",
    "做唔到交易",
    "交易唔到",
)
_SCOPE: Final = (
    "order entry",
    "market data",
    "trading system",
    "trading platform",
    "prices",
    "price feed",
    "pricing",
    "quotes",
    "trading floor",
    "dealing room",
    "whole desk",
    "entire desk",
    "whole sales desk",
    "whole trading desk",
    "whole floor",
    "entire floor",
    "whole office",
    "whole company",
    "whole firm",
    "everyone",
    "everybody",
    "all users",
    "all staff",
    "nobody can",
    "no one can",
    "成層",
    "全層",
    "全部人",
    "所有人",
    "全公司",
    "成間公司",
    "成個office",
    "交易系統",
    "成個desk",
    "成個trading floor",
    "價格",
    "股價",
    "報價",
)
_FAILURE: Final = (
    "down",
    "not working",
    "isn't working",
    "isnt working",
    "doesn't work",
    "don't work",
    "stopped",
    "can't",
    "cannot",
    "cant",
    "unable",
    "failing",
    "failed",
    "broken",
    "offline",
    "frozen",
    "stuck",
    "stale",
    "not loading",
    "not updating",
    "no",
    "dead",
    "lost",
    "crashed",
    "crashing",
    "nobody can",
    "no one can",
    "用唔到",
    "唔work",
    "壞",
    "死咗",
    "冇",
    "連唔到",
    "上唔到",
    "開唔到",
    "入唔到",
    "唔得",
    "停咗",
    "hang",
    "唔郁",
    "斷",
)
_CLAUSE: Final = re.compile(r"[.?!;。？！；\n]+")


def _has(clause: str, phrase: str) -> bool:
    if phrase.isascii():
        return re.search(r"(?<![a-z])" + re.escape(phrase) + r"(?![a-z])", clause) is not None
    return phrase in clause


def outage_words(text: str) -> tuple[str, ...]:
    """The words that make `text` an outage report (empty when it is not one)."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    found = [phrase for phrase in _STOPPED if _has(folded, phrase)]
    for clause in _CLAUSE.split(folded):
        scope = [phrase for phrase in _SCOPE if _has(clause, phrase)]
        failure = [phrase for phrase in _FAILURE if _has(clause, phrase)]
        if scope and failure:
            found += [*scope, *failure]
    return tuple(dict.fromkeys(found))
