"""Text to search terms, the same way for articles and for questions.

English: NFKC, lower case, two-word spellings joined ("wi-fi" → "wifi", "log in" →
"signin login"),
chat shorthand expanded ("pw" → "password", "cant" → "cannot"), British spellings
folded to one form ("licence" → "license"), then Snowball stems. Chinese: every run
of Han characters becomes overlapping character bigrams ("打印機" → "打印 印機"), so
FTS5 can match Chinese articles without a word segmenter.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")
_PORTER = snowballstemmer.stemmer("porter")  # what SQLite FTS5's porter tokenizer does
HAN: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD: Final = re.compile(r"[a-z0-9]+")
# Two-word spellings joined into the one word articles and people also use.
_PAIRS: Final = {
    ("wi", "fi"): ("wifi",),
    ("e", "mail"): ("email",),
    ("one", "drive"): ("onedrive",),
    ("share", "point"): ("sharepoint",),
    ("bit", "locker"): ("bitlocker",),
    ("power", "point"): ("powerpoint",),
    ("power", "shell"): ("powershell",),
    ("log", "in"): ("signin",),
    ("log", "on"): ("signin",),
    ("sign", "in"): ("signin",),
    ("sign", "on"): ("signin",),
    ("log", "out"): ("signout",),
    ("sign", "out"): ("signout",),
    ("free", "busy"): ("freebusy", "free", "busy"),
}
_PAIR_FIRST: Final = frozenset(first for first, _ in _PAIRS)
_CONTRACTION_TAILS: Final = frozenset({"t", "re", "ve", "ll"})

# Chat shorthand and spelling variants → the words articles use. General, not per query.
SHORTHAND: Final = {
    "pw": "password",
    "pwd": "password",
    "passwd": "password",
    "pword": "password",
    "acc": "account",
    "acct": "account",
    "accnt": "account",
    "ppl": "people",
    "u": "you",
    "ur": "your",
    "r": "are",
    "b4": "before",
    "thx": "thanks",
    "cant": "cannot",
    "cannt": "cannot",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "wont": "will not",
    "isnt": "is not",
    "wasnt": "was not",
    "aint": "is not",
    "couldnt": "could not",
    "havent": "have not",
    "msg": "message",
    "msgs": "messages",
    "pic": "picture",
    "pics": "pictures",
    "mic": "microphone",
    "cam": "camera",
    "vid": "video",
    "pwr": "power",
    "mfa": "multifactor authentication mfa",
    "2fa": "multifactor authentication mfa",
    "o365": "office 365",
    "m365": "microsoft 365",
    "bsod": "blue screen",
    "ooo": "out of office",
    "oof": "out of office",
    "dl": "distribution list",
    "admin": "administrator admin",
    "w10": "windows 10",
    "win10": "windows 10",
    "win11": "windows 11",
    "w11": "windows 11",
    "win": "windows",
    "ext": "extension",
    "pdf": "pdf",
    "xls": "excel",
    "xlsx": "excel",
    "doc": "word",
    "docx": "word",
    "ppt": "powerpoint",
    "pptx": "powerpoint",
    "calender": "calendar",
    "calandar": "calendar",
    "licence": "license",
    "licences": "licenses",
    "licenced": "licensed",
    "colour": "color",
    "behaviour": "behavior",
    "organisation": "organization",
    "authorisation": "authorization",
    "favourite": "favorite",
    "centre": "center",
    "synchronise": "synchronize",
    "recognise": "recognize",
    "cancelled": "canceled",
    "emails": "email",
    "pls": "",
    "plz": "",
    "please": "",
    "login": "signin login",
    "logon": "signin login",
    "signin": "signin login",
    "logins": "signin login",
    "logout": "signout logout",
    "signout": "signout logout",
}
STOPWORDS: Final = frozenset(
    """a an the and or but if then so of to in on at by for from with about into over after
    before again further once here there when where why how all any both each few more most
    other some such no nor not only own same too very can will just should now i me my myself
    we our you your he she it its they them their what which who whom this that these those am
    is are was were be been being have has had having do does did doing would could ought im
    ive id get gets got getting keep keeps kept still anymore today suddenly always every time
    thing things stuff help want need trying tried try tell know like also even really pls
    please hi hello hey thanks thank ok okay able one don doesn didn isn wasn won couldn
    haven aren shouldn wouldn""".split()
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


@lru_cache(maxsize=50_000)
def porter_stem(word: str) -> str:
    return str(_PORTER.stemWord(word))


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def han_bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def words(text: str) -> list[str]:
    """English words of folded text, shorthand expanded (not stemmed, stopwords kept)."""
    tokens = _WORD.findall(text if text.isascii() else HAN.sub(" ", text))
    if not _PAIR_FIRST.isdisjoint(tokens):
        tokens = _join_pairs(tokens)
    if _SPECIAL.isdisjoint(tokens):  # most text: nothing to expand or drop
        return tokens
    out: list[str] = []
    for word in tokens:
        if word in _CONTRACTION_TAILS:
            continue
        expanded = SHORTHAND.get(word)
        if expanded is None:
            out.append(word)
        elif expanded:
            out.extend(expanded.split())
    return out


_SPECIAL = frozenset(SHORTHAND) | frozenset(_CONTRACTION_TAILS)


def _join_pairs(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        joined = _PAIRS.get((tokens[i], tokens[i + 1])) if i + 1 < len(tokens) else None
        if joined is None:
            out.append(tokens[i])
            i += 1
        else:
            out.extend(joined)
            i += 2
    return out


def index_terms(text: str) -> tuple[list[str], list[str]]:
    """An article field's words (for typo correction) and its terms (stems, Chinese bigrams)."""
    folded = fold(text)
    plain = words(folded)
    terms = [stem(w) for w in plain]
    if not folded.isascii():
        for run in HAN.findall(folded):
            terms.extend(han_bigrams(run))
    return plain, terms
