"""The shapes a secret takes in chat, each a function from text to the spans it covers.

A span is `(start, end, kind)`; `bot.redact` merges them and masks what they cover. Kinds:
`password` (passwords, passphrases, PINs, one-time codes, Temporary Access Passes, recovery
keys), `token` (API keys, bearer tokens, private keys) and `card`.

Word boundaries are ASCII lookarounds, not `\\b`: a Chinese character counts as a word
character to Python's `\\b`, so `\\bpassword` never matches in "我password係 x".
"""

from __future__ import annotations

import re
from collections.abc import Iterator

Span = tuple[int, int, str]

_A = r"(?<![A-Za-z0-9_])"
"""Start of an ASCII word (what `\\b` fails to be next to Chinese)."""
_Z = r"(?![A-Za-z0-9_])"

_FIXED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("token", re.compile(_A + r"xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("token", re.compile(_A + r"xapp-\d-[A-Za-z0-9-]{10,}")),
    ("token", re.compile(_A + r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("token", re.compile(_A + r"(?:AKIA|ASIA)[0-9A-Z]{16}" + _Z)),
    ("token", re.compile(_A + r"gh[pousr]_[A-Za-z0-9]{30,}" + _Z)),
    ("token", re.compile(_A + r"github_pat_[A-Za-z0-9_]{40,}")),
    ("token", re.compile(_A + r"(?:sk|rk|pk)-(?:live-|test-|proj-)?[A-Za-z0-9_-]{20,}")),
    ("token", re.compile(_A + r"AIza[0-9A-Za-z_-]{35}")),
    # An Entra client secret: three characters, a digit, "Q~", then 31-37 more.
    ("token", re.compile(_A + r"[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,37}")),
    ("token", re.compile(r"(?i)" + _A + r"bearer\s+[A-Za-z0-9._~+/-]{16,}=*")),
    (
        "token",
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
    ),
    # A BitLocker recovery key: eight groups of six digits.
    ("password", re.compile(r"(?<!\d)\d{6}(?:[-\s]\d{6}){7}(?!\d)")),
    # user:password@ in a URL.
    ("password", re.compile(r"(?<=://)[^\s:/@]+:(?P<value>[^\s/@]+)(?=@)")),
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")

# -- keywords ----------------------------------------------------------------------------------

_PW_WORDS = (
    r"p[a@4][s$5]{1,2}[\s_-]?w[o0]?r?d[sz]?|pwd|pw|pword|pass[\s-]?code|passkey"
    r"|pin(?:[\s-]?(?:code|number|no\.?))?"
    r"|otp|one[\s-]?time[\s-]?(?:pass[\s-]?(?:word|code)?|code|pin)"
    r"|(?:verification|security|sms|text|mfa|2fa|auth(?:entication|enticator)?|login|log[\s-]?in"
    r"|sign[\s-]?in|access|confirmation)[\s-]?(?:code|pin)"
    r"|tap|temporary[\s-]access[\s-]pass|temp(?:orary)?[\s-]?(?:pass(?:word)?|pw|pwd)"
    r"|(?:bitlocker[\s-]?)?recovery[\s-]?(?:key|code|password)s?|bitlocker[\s-]?key"
    r"|backup[\s-]?codes?"
)
_PHRASE_WORDS = r"pass[\s-]?phrase|密碼短語|密码短语"
"""A passphrase is words: whatever follows its keyword is the value, however it is spaced."""
_API_WORDS = (
    r"(?:api|access|secret|private|app|client|ssh|auth|refresh|bot|project|personal[\s-]access)"
    r"[\s_-]?(?:key|token|secret)|token|client[\s_-]?secret|pre[\s-]?shared[\s-]?(?:key|secret)"
)
_LOOSE_WORDS = r"secret|pass|code|authenticator"
"""Common words that are keywords only before a password- or code-shaped value."""
_ZH_WORDS = (
    r"PIN碼|pin碼|密碼|密码|通行碼|通行码|驗證碼|验证码|認證碼|认证码|登入碼|登入码|一次性碼"
    r"|密匙|金鑰|金钥|口令|暗碼|暗码"
)
_KEY = re.compile(
    rf"(?i)(?:(?P<phrase>{_PHRASE_WORDS})|(?P<zh>{_ZH_WORDS})|{_A}(?P<pw>{_PW_WORDS}){_Z}"
    rf"|{_A}(?P<tok>{_API_WORDS}){_Z}|{_A}(?P<loose>{_LOOSE_WORDS}){_Z})"
)

# What may stand between a keyword and its value. Strong separators ("is", ":", "係") make
# the next words a value unless they are speech; weak ones (a space, "to") only a value
# that looks like a password.
_STRONG_SEP = (
    r"(?:is|was)\s+(?:now|still|currently)|(?:now|still|currently)\s+(?:is|was)|now:|new:"
    r"|['’]s|is|was|are|were|hai|=+|:+|：|->|=>|→|\s[-–—]+\s|reads|became|becomes"
    r"|(?:should|would|will|must|might|could)\s+be"
    r"|係|系|是|為|为|就係|即係|嘅係|都係|會係|会是|做|改咗做|改做|改成|改為|改为|設咗做|設成|設為|设为"
    r"|設定為|设定为|定為|變咗做|转成|轉咗做|轉做"
)
_WEAK_SEP = r"to|now|gei|as"
_SEP = re.compile(
    rf"(?i)\s*(?:(?P<strong>(?:(?:{_STRONG_SEP})\s*)+)|{_A}(?P<weak>{_WEAK_SEP}){_Z}\s*)|\s+|(?=\S)"
)
_QUALIFIER = re.compile(
    r"(?i)\s+(?:for|of|on|to|at|in|into)\s+(?:[^\s:=：,，]+\s+){0,3}?[^\s:=：,，]+(?=\s*(?:is|was"
    r"|:|：|=|係)(?![A-Za-z]))"
)
_QUOTED = re.compile(r"[\"'“”‘’「『`]([^\"'“”‘’」』`\n]{1,80})[\"'“”‘’」』`]")
_TOKEN = re.compile(r"[^\s\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff01-\uff0f\uff1a-\uff20]+")
_CLAUSE_END = re.compile(r"[.,;!?)]$")
_DIGIT_GROUPS = re.compile(r"\d{3}[ -]\d{3}(?![\d-])")
"""A six-digit code as apps show it: "482 019"."""

# Words that, right after "password is" / "password:", are speech about the password.
_SPEECH = frozenset(
    """
    a an the my your his her our their its this that these those it i me you we they he she
    is was are were be been being am not no never none nothing n/a na nil tbd unknown
    and or but so if then than because cos since when while until also too very really just
    still again already even only always ever now yet please pls plz thanks thank thx ty
    reset resetting expired expire expires expiring expiry change changed changing changes
    locked lock locking unlocked wrong incorrect invalid correct right valid rejected accepted
    weak strong short long complex simple same different new old blank empty missing required
    needed mandatory optional saved stored remembered forgotten forgot lost stolen leaked
    compromised hacked exposed shared emailed sent texted given provided generated
    working works work broken fine ok okay okey good bad great safe secure insecure
    set setup updated update synced sync policy policies rule rules requirement
    requirements manager prompt prompts prompting field box screen page popup dialog
    keeps keep kept asking asks asked prompted doesnt dont cant wont isnt wasnt didnt
    doesn't don't can't won't isn't wasn't didn't does do did has have had having will would
    should could can may might must need needs shall
    for to of on in at by with from about into over under after before via per as like
    case sensitive sensitivity due going getting coming
    what which who where how why whatever something anything everything someone somewhere
    here there temporary temp one-time hidden masked redacted protected
    least most characters chars digits letters symbols numbers days months times minutes hours
    """.split()
)
_CONNECTORS = frozenset(
    """
    and but or so because cos since if when then which that please pls plz thanks thx ty
    can could would will should is was it i i'm im my lol btw also tho though just not
    for from to in on at with after before until while
    ga ge la lah laa ar ah a lo wo jor mm goi ok
    """.split()
)
_PHRASE_STOPS = frozenset("thanks thx ty but lol btw because cos".split())


def fixed_shapes(text: str) -> Iterator[Span]:
    """Tokens, keys and card numbers whose shape alone gives them away."""
    for kind, pattern in _FIXED:
        for match in pattern.finditer(text):
            group = "value" if "value" in pattern.groupindex else 0
            yield match.start(group), match.end(group), kind
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group(0))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            yield match.start(), match.end(), "card"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def looks_like_password(token: str, *, digits_from: int = 6) -> bool:
    """True for a token shaped like a password: letters with digits or symbols, or a long
    run of digits (`digits_from` or more: 4 after "PIN", 6 elsewhere)."""
    token = token.strip("\"'“”‘’「」『』`()（）*_~")
    core = token.rstrip(".,;:!?")
    if not core or core == "[redacted]":
        return False
    if core.isdigit():
        return len(core) >= digits_from
    if len(token) < 6 or _NOT_A_PASSWORD.fullmatch(core):
        return False
    letters = any(ch.isalpha() for ch in core)
    digits = any(ch.isdigit() for ch in core)
    symbols = any(not ch.isalnum() and ch not in "-.'’/" for ch in core)
    return letters and (digits or symbols)


def _strongly_like_password(token: str) -> bool:
    """Three kinds of character of lower, upper, digit and symbol ("Welcome@123"): a
    password even where no keyword points at it, if one is nearby."""
    core = token.strip("\"'“”‘’「」『』`()（）*_~").rstrip(".,;:!?")
    if len(core) < 6 or _NOT_A_PASSWORD.fullmatch(core) or _ASSET_TAG.fullmatch(core):
        return False
    kinds = (
        any(ch.islower() for ch in core),
        any(ch.isupper() for ch in core),
        any(ch.isdigit() for ch in core),
        any(not ch.isalnum() for ch in core),
    )
    return sum(kinds) >= 3 and kinds[2] + kinds[3] >= 1 and (kinds[0] or kinds[1])


_NOT_A_PASSWORD = re.compile(
    r"(?i)(?:hd|inc|chg|req|ritm|kb|aadsts)[-_#]?\d+|\d+(?:[a-z]{1,2}|/\d+)?|v?\d+(?:\.\d+)+[a-z]?"
    r"|0x[0-9a-f]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|\d{1,2}[:.]\d{2}(?:[ap]m)?"
    r"|\d{1,2}(?:am|pm)|(?:win|windows|iphone|ipad|galaxy|pixel|w)\d{1,2}|(?:office|o|m)365"
    r"|(?:rm|room)\d{1,4}|\d{1,3}(?:%|px|gb|mb|tb|kb)|[a-z]+(?:\+[a-z0-9]+)+|\d+-[a-z]+"
    r"|[a-z]+\\[\w.]+"
)
_ASSET_TAG = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)+|\\\\\S+")
"""An asset tag or host name (HKB-LT-00421) or a share path: upper case and digits, no secret."""


def _value(
    text: str, at: int, *, strong: bool, digits_from: int, phrase_key: bool = False
) -> tuple[int, int] | None:
    """The value starting at `at`: a quoted phrase, or a token (a strong separator extends it
    over the next words of a passphrase, up to the clause's end; after "passphrase" even
    "and", "at" and "the" are words of it)."""
    stops = _PHRASE_STOPS if phrase_key else _CONNECTORS
    quoted = _QUOTED.match(text, at)
    if quoted and (strong or looks_like_password(quoted.group(1).replace(" ", ""))):
        return (quoted.start(), quoted.end()) if quoted.group(1).strip() else None
    digit_groups = _DIGIT_GROUPS.match(text, at)
    if digit_groups and digits_from <= 6:
        return digit_groups.start(), digit_groups.end()
    first = _TOKEN.match(text, at)
    if first is None:
        return None
    word = first.group(0)
    phrase = strong and _passphrase(text, first.end())
    if strong and not phrase:
        if word == "[redacted]" or _speech(word):
            return None
        if not looks_like_password(word, digits_from=digits_from) and not _worded(word):
            return None
    elif not strong and not looks_like_password(word, digits_from=digits_from):
        return None
    end = first.end()
    if strong and not _CLAUSE_END.search(word):
        for _ in range(7):
            gap = re.compile(r"[ \t]+").match(text, end)
            token = _TOKEN.match(text, gap.end()) if gap else None
            if token is None or token.group(0).lower().rstrip(".,;!?") in stops:
                break
            end = token.end()
            if _CLAUSE_END.search(token.group(0)):
                break
    return first.start(), end


def _speech(word: str) -> bool:
    core = word.lower().strip("\"'“”‘’「」*_").rstrip(".,;:!?\"'”’」")
    return core in _SPEECH or bool(re.fullmatch(r"[a-z]+(?:ed|ing|ly)", core))


def _passphrase(text: str, at: int) -> bool:
    """Three more plain words follow ("correct horse battery staple"), none of them speech."""
    words = re.match(r"(?:[ \t]+[A-Za-z0-9]{2,}){3}", text[at:])
    return words is not None and not any(
        w.lower() in _SPEECH or w.lower() in _CONNECTORS for w in words.group(0).split()
    )


def _worded(word: str) -> bool:
    """A plain word after "is" is a value (a passphrase's first word) unless it is speech."""
    core = word.rstrip(".,;!?")
    return len(core) >= 3 and not core.isdigit()


def _digits_from(keyword: str) -> int:
    """PINs and codes are short: four digits are one after "PIN", "OTP" or "碼"; six elsewhere."""
    word = keyword.lower()
    return 4 if any(k in word for k in ("pin", "otp", "code", "碼", "码", "one")) else 6


_RECOVERY_KEY_WORD = re.compile(r"(?i)(?:bitlocker[\s-]?)?recovery[\s-]?keys?|bitlocker[\s-]?key")
_KEY_ID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{1,12}){0,4}[.,;!?]?")
"""The "Recovery key ID" a BitLocker screen shows (its first 8 hex characters, or more of
the GUID): after "recovery key" it names the key, it is not one. The key itself is 48
digits in groups of six, which `_SHAPES` catches wherever it stands."""


def keyword_values(text: str) -> Iterator[Span]:
    """A value after a keyword: "password is x", "pw's x", "P@ssword: x", "密碼係x", "OTP 1234"."""
    for key in _KEY.finditer(text):
        at = key.end()
        qualifier = _QUALIFIER.match(text, at)
        starts = [(at, False)] + ([(qualifier.end(), True)] if qualifier else [])
        digits_from = _digits_from(key.group(0))
        loose = bool(key.group("loose"))
        for start, qualified in starts:
            sep = _SEP.match(text, start)
            if sep is None:
                continue
            strong = bool(sep.group("strong")) or bool(key.group("phrase"))
            if qualified and not strong:
                continue
            if (key.group("zh") and not sep.group(0).strip()) or loose:
                # "密碼abc123" or "code 482913": only a password-shaped value counts.
                strong = False
            if loose and key.group(0).lower() in ("code", "authenticator"):
                digits_from = 6
                if not _DIGIT_GROUPS.match(text, sep.end()) and not re.match(
                    r"\d{6,8}(?!\d)", text[sep.end() :]
                ):
                    continue
            found = _value(
                text,
                sep.end(),
                strong=strong,
                digits_from=digits_from,
                phrase_key=bool(key.group("phrase")),
            )
            if (
                found
                and _RECOVERY_KEY_WORD.fullmatch(key.group(0))
                and _KEY_ID.fullmatch(text[found[0] : found[1]])
            ):
                break
            if found:
                yield found[0], found[1], "token" if key.group("tok") else "password"
                break


def near_keyword(text: str) -> Iterator[Span]:
    """In a message that names a password, PIN or code, a token that could be nothing else
    ("the temp password you gave me (Welcome@123) doesn't work"), or a six-digit code."""
    keys = list(_KEY.finditer(text))
    codes = any(_digits_from(k.group(0)) == 4 or k.group("loose") for k in keys)
    if any(not k.group("loose") for k in keys):
        for token in _TOKEN.finditer(text):
            if _strongly_like_password(token.group(0)):
                yield token.start(), token.end(), "password"
    if codes:
        for match in re.finditer(r"(?<![\d-])(?:\d{6}|\d{3} \d{3})(?![\d-])", text):
            yield match.start(), match.end(), "password"


_CREDENTIAL_KEY = re.compile(
    rf"(?i)(?:{_A}(?:user(?:name)?\s*/\s*pass(?:word)?|credentials?|creds|login|log[\s-]?in"
    rf"|sign[\s-]?in|user\s*id|user(?:name)?|u/?p|acct|account|email){_Z}|帳號|賬號|帳戶|賬戶|登入)"
)
_USER_PASS = re.compile(r"(?P<user>[\w.@\\-]{2,64})\s?[:/]\s?(?P<value>\S{3,})")
_USER_THEN_PASS = re.compile(
    r"(?i)(?P<user>[\w.@\\-]{2,64}),?\s+(?:/\s*)?(?:and\s+)?"
    r"(?:password|pass|pwd|pw|p|密碼|密码)(?![A-Za-z])"
    r"\s*(?:is|=|:|：|係)?\s*(?P<value>\S+)"
)


def credentials(text: str) -> Iterator[Span]:
    """A user name and its password together: "credentials are u:x", "login: u pass x"."""
    for key in _CREDENTIAL_KEY.finditer(text):
        tail = text[key.end() : key.end() + 160]
        sep = re.match(r"(?i)\s*(?:(?:are|is|=|:|：|係|-|with|for)\s*)*", tail)
        at = key.end() + (sep.end() if sep else 0)
        for pattern in (_USER_THEN_PASS, _USER_PASS):
            match = pattern.match(text, at)
            if match is None:
                continue
            value = match.group("value")
            if _speech(value) or not looks_like_password(value, digits_from=4):
                continue
            yield match.start("value"), match.end("value"), "password"
            break


_CHANGED_TO = re.compile(
    r"(?i)(?:改咗做|改左做|改做|改成|改為|改为|轉咗做|轉做|換咗做|換成|换成|設咗做|設做|設成|设成|設為|设为"
    r"|變咗做|变成|reset咗做|set咗做"
    rf"|{_A}(?:changed?|set|reset|updated?)\s+(?:it|mine|that|them|jor|咗)?\s*(?:to|as)\s*:?)\s*"
)
_USED_AS = re.compile(
    r"(?i)(?P<value>\S+|[\"'“‘「][^\"'”’」\n]{1,60}[\"'”’」])\s*(?:做|as\s+(?:my|the|a)?\s*(?:new\s+)?)"
    r"\s*(?:password|pw|pwd|密碼|密码)"
)


def changed_to(text: str) -> Iterator[Span]:
    """A password-shaped value after "changed it to" / "改咗做", or before "as my password"
    / "做密碼" (the keyword is elsewhere in the sentence)."""
    for match in _CHANGED_TO.finditer(text):
        found = _value(text, match.end(), strong=False, digits_from=6)
        if found:
            yield found[0], found[1], "password"
    for match in _USED_AS.finditer(text):
        value = match.group("value")
        if value[0] in "\"'“‘「" or looks_like_password(value):
            yield match.start("value"), match.end("value"), "password"


_ANSWER = re.compile(
    r"(?i)^\s*(?:(?:it'?s|it\s+is|its|is|係|系|是|就係|咪係|hai|=|:)\s*)?(?P<value>\S+)\s*$"
)
_PLAIN_WORDS = re.compile(r"\s*[a-z]{2,}(?:\s+[a-z0-9]{2,}){2,7}\s*")


def asked_password(text: str) -> Iterator[Span]:
    """After the bot asked about a password: a password-shaped token anywhere in the answer
    ("Hunter2!", "maybe HkB2026!!", "係abc12345 ar"), a quoted phrase, or an answer that is
    nothing but plain words ("correct horse battery staple") is that password."""
    for token in _TOKEN.finditer(text):
        if looks_like_password(token.group(0), digits_from=6):
            yield token.start(), token.end(), "password"
    for quoted in _QUOTED.finditer(text):
        yield quoted.start(), quoted.end(), "password"
    words = text.split()
    if _PLAIN_WORDS.fullmatch(text) and not any(
        w in _SPEECH or w in _CONNECTORS for w in words[1 if len(words) > 3 else 0 :]
    ):
        yield 0, len(text), "password"
