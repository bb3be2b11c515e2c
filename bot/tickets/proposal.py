"""What the bot proposes for a new ticket from the requester's own words.

Category: the configured category whose words appear most (English and Cantonese,
folded); the last configured category is the fallback. Priority: impact × urgency
(ITIL's matrix), where words like "trading is down" or "whole floor" raise them; an
outage (`bot.tickets.outage`: "order entry is down", 「成層都用唔到」) is always a P1, even
when the message also says "no rush".
The requester can change all of it before the ticket is opened; engineers can
change the priority afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.tickets.outage import outage_words

# Words that point at a default category. Categories renamed in config simply get no
# hints and are chosen by hand.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "account & access": (
        "password",
        "locked",
        "lockout",
        "login",
        "log in",
        "sign in",
        "signin",
        "mfa",
        "authenticator",
        "account",
        "access",
        "permission",
        "密碼",
        "鎖",
        "登入",
        "權限",
        "戶口",
    ),
    "email": ("outlook", "email", "e-mail", "mailbox", "inbox", "calendar", "電郵", "郵箱"),
    "Teams": ("teams", "meeting", "call", "chat", "會議"),
    "network/VPN": (
        "vpn",
        "wifi",
        "wi-fi",
        "network",
        "internet",
        "ethernet",
        "網絡",
        "上網",
        "上唔到網",
        "連唔到",
    ),
    "hardware": (
        "laptop",
        "monitor",
        "screen",
        "keyboard",
        "mouse",
        "dock",
        "docking",
        "docking station",
        "screens",
        "monitors",
        "flicker",
        "flickers",
        "headset",
        "battery",
        "bitlocker",
        "手提電腦",
        "電腦",
        "螢幕",
        "鍵盤",
        "滑鼠",
    ),
    "printing": ("printer", "print", "printing", "scanner", "scan", "toner", "打印", "印表機"),
    "software": (
        "install",
        "software",
        "excel",
        "word",
        "powerpoint",
        "office",
        "licence",
        "license",
        "app",
        "update",
        "onedrive",
        "sharepoint",
        "order entry",
        "bloomberg",
        "bbg",
        "安裝",
        "軟件",
    ),
    "mobile": ("phone", "iphone", "android", "mobile", "ipad", "手機"),
    "security": (
        "phishing",
        "virus",
        "malware",
        "suspicious",
        "hacked",
        "scam",
        "ransomware",
        "釣魚",
        "病毒",
        "可疑",
    ),
}

# Impact: how many people; urgency: how badly work is stopped.
_BUSINESS = (
    "trading is down",
    "trading down",
    "can't trade",
    "cannot trade",
    "whole firm",
    "whole company",
    "everyone",
    "all users",
    "all staff",
    "the market",
    "clients can't",
    "clients cannot",
    "全公司",
    "所有人",
    "成間公司",
    "交易系統",
    "落唔到單",
)
_SEVERAL = (
    "whole floor",
    "whole team",
    "whole desk",
    "several of us",
    "all of us",
    "my team",
    "the team",
    "few of us",
    "other people",
    "colleagues",
    "成層",
    "成個team",
    "全組",
    "我哋個team",
    "同事都",
)
_CRITICAL = (
    "trading",
    "client",
    "market open",
    "outage",
    "production",
    "settlement",
    "交易",
    "客戶",
    "開市",
)
_HIGH = (
    "can't work",
    "cannot work",
    "cant work",
    "urgent",
    "asap",
    "blocked",
    "stuck",
    "emergency",
    "做唔到嘢",
    "急",
    "好急",
    "即刻",
)
_LOW = ("no rush", "not urgent", "when you can", "whenever", "唔急", "得閒")

IMPACTS = ("single", "several", "business")
URGENCIES = ("low", "medium", "high", "critical")

# rows: impact; columns: urgency low, medium, high, critical
MATRIX = {
    "business": ("P3", "P2", "P1", "P1"),
    "several": ("P3", "P3", "P2", "P1"),
    "single": ("P4", "P3", "P3", "P2"),
}


def priority_of(impact: str, urgency: str) -> str:
    return MATRIX[impact][URGENCIES.index(urgency)]


@dataclass(frozen=True)
class Proposal:
    category: str
    impact: str
    urgency: str

    @property
    def priority(self) -> str:
        return priority_of(self.impact, self.urgency)


def _has(text: str, phrases: Sequence[str]) -> bool:
    for phrase in phrases:
        if phrase.isascii():
            if re.search(r"(?<![a-z])" + re.escape(phrase) + r"(?![a-z])", text):
                return True
        elif phrase in text:
            return True
    return False


def propose(text: str, categories: Sequence[str]) -> Proposal:
    """Category, impact and urgency read from what the requester said."""
    folded = " ".join(text.lower().replace("’", "'").split())
    best, best_count = categories[-1], 0
    for category in categories:
        count = sum(1 for word in CATEGORY_WORDS.get(category, ()) if _has(folded, (word,)))
        if category == "security" and count:
            # a possible incident outranks whatever else the message mentions
            best = category
            break
        if count > best_count:
            best, best_count = category, count
    impact = (
        "business" if _has(folded, _BUSINESS) else "several" if _has(folded, _SEVERAL) else "single"
    )
    if outage_words(text):
        impact = "business" if impact == "business" else "several"
        urgency = "critical"
    elif _has(folded, _LOW):
        urgency = "low"
    elif impact == "business" or (_has(folded, _CRITICAL) and _has(folded, (*_HIGH, "down"))):
        urgency = "critical"
    elif _has(folded, _HIGH) or _has(folded, _CRITICAL):
        urgency = "high"
    else:
        urgency = "medium"
    return Proposal(best, impact, urgency)
