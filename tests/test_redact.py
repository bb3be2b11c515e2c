"""Secrets typed into chat are found and masked; ordinary speech about passwords is not."""

from __future__ import annotations

import pytest

from bot.redact import MASK, redact


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        ("my password is Hunter2!", "Hunter2!", "password"),
        ("pw: s3cret!!", "s3cret!!", "password"),
        ("new password = 'Tr0ub4dor&3'", "Tr0ub4dor&3", "password"),
        ("密碼係abc12345", "abc12345", "password"),
        ("我個密碼是 Qwerty123", "Qwerty123", "password"),
        ("token xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl", "token"),
        (
            "Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345",
            "abcdefghijklmnopqrstuvwxyz012345",
            "token",
        ),
        ("AKIAIOSFODNN7EXAMPLE is the key", "AKIAIOSFODNN7EXAMPLE", "token"),
        ("card 4111 1111 1111 1111 expires 12/29", "4111 1111 1111 1111", "card"),
    ],
)
def test_secrets_are_masked(text: str, secret: str, kind: str) -> None:
    result = redact(text)
    assert secret not in result.text and MASK in result.text
    assert kind in result.kinds


@pytest.mark.parametrize(
    "text",
    [
        "reset my password please",
        "my password expired",
        "outlook keeps asking for my password",
        "password is expired",
        "I forgot my password",
        "密碼過咗期",
        "call me on 9123 4567",
        "ticket HD-1042 please",
        "my password doesn't work",
    ],
)
def test_ordinary_speech_is_left_alone(text: str) -> None:
    assert redact(text).text == text
    assert not redact(text).found
