"""Finding secrets people type into chat, before anything is stored or copied.

Rule 8 of the self-service safety rules: a password typed into chat ("my password
is Hunter2!", "我password係 abc123", "credentials are jdoe:Spring2024"), a one-time
code, a PIN, a Temporary Access Pass, a recovery key, an access token, a private key
or a payment-card number is replaced by `[redacted]` before the message reaches the
classifier, the store, a log or a ticket, and the user is told to change what they
exposed. The shapes themselves live in `bot.secret_shapes`; this module finds them,
merges what they cover and masks it.

Decisions (measured on `tests/data/secret_lines.jsonl`, see `bench/redaction.py`):

- Eager on purpose: hiding a harmless word costs little, storing a password costs a
  lot. A value after an explicit "is", ":" or "係" is masked to the end of its clause, so
  a passphrase goes whole; a value after a bare space is masked only when it looks like
  a password (digits, symbols, mixed case), so "password manager" stays.
- Keyword boundaries are ASCII (`(?<![A-Za-z0-9])`), never `\\b`: in Python a Chinese
  character is a word character, so `\\b` never matches in "我password係 x".
- Context counts, and it is typed: after the bot asked about a password
  (`SecretContext.ASKED_PASSWORD`, carried by the conversation's pending flow) a message
  that is one password-like token, or a short "it's x" / "係x", is a password.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from bot import secret_shapes as shapes
from bot.messages import Incoming

MASK = "[redacted]"


class SecretContext(enum.Enum):
    """What the bot last asked, as far as secrets go: it changes what a lone token means."""

    NONE = "none"
    ASKED_PASSWORD = "asked_password"  # noqa: S105 (a context's name, not a password)


@dataclass(frozen=True)
class Redaction:
    text: str
    kinds: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.kinds)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str


def redact(text: str, context: SecretContext = SecretContext.NONE) -> Redaction:
    """Return `text` with secrets masked and the kinds of secret found."""
    spans = [
        *shapes.fixed_shapes(text),
        *shapes.keyword_values(text),
        *shapes.credentials(text),
        *shapes.changed_to(text),
        *shapes.near_keyword(text),
    ]
    if context is SecretContext.ASKED_PASSWORD:
        spans.extend(shapes.asked_password(text))
    if not spans:
        return Redaction(text, ())
    merged: list[_Span] = []
    for start, end, kind in sorted(spans):
        if merged and start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = _Span(last.start, max(last.end, end), last.kind)
        else:
            merged.append(_Span(start, end, kind))
    out: list[str] = []
    at = 0
    for span in merged:
        out.append(text[at : span.start])
        out.append(MASK)
        at = span.end
    out.append(text[at:])
    kinds = tuple(dict.fromkeys(kind for _, _, kind in sorted(spans)))
    return Redaction("".join(out), kinds)


def redact_incoming(
    msg: Incoming, context: SecretContext = SecretContext.NONE
) -> tuple[Incoming, bool]:
    """`msg` with secrets masked in its text and in a submitted form's fields (a modal's
    description is typed too), and whether any was found. A click's text is the label of
    the button the bot drew, not something typed: it is never scanned, so "Reset my
    password now" never looks like a secret. The engine calls this, and so does the inbox
    before it stores a message (`bot.inbox`), with the conversation's `SecretContext`."""
    clicked = msg.choice is not None and msg.form is None
    text = Redaction(msg.text, ()) if clicked else redact(msg.text, context)
    if msg.form is None:
        return replace(msg, text=text.text), text.found
    fields = {name: redact(value) for name, value in msg.form.items()}
    form = {name: r.text for name, r in fields.items()}
    return replace(msg, text=text.text, form=form), text.found or any(
        r.found for r in fields.values()
    )
