"""Secrets typed into chat are found and masked; ordinary speech about passwords is not.

The corpus (`tests/data/secret_lines.jsonl`) was written by someone who had not read the
code: secret lines and innocent near-misses in English, Cantonese and both mixed, some typed
just after the bot asked about a password.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.redaction import leaked
from bot.redact import MASK, SecretContext, redact

CORPUS = Path(__file__).parent / "data" / "secret_lines.jsonl"
ROWS = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()]


def test_the_corpus_is_big_enough_and_labelled_both_ways() -> None:
    secret = [r for r in ROWS if r["secret"]]
    innocent = [r for r in ROWS if not r["secret"]]
    assert len(secret) >= 330 and len(innocent) >= 330
    assert {r["lang"] for r in ROWS} == {"en", "zh", "mixed"}
    assert {r["context"] for r in ROWS} == {"none", "asked_password"}
    assert all(s in r["text"] for r in secret for s in r["secret"])


def test_every_secret_in_the_corpus_is_masked() -> None:
    missed = [
        r["text"]
        for r in ROWS
        if r["secret"]
        and leaked(r["text"], r["secret"], redact(r["text"], SecretContext(r["context"])).text)
    ]
    assert missed == []


def test_at_most_one_percent_of_innocent_corpus_lines_change() -> None:
    innocent = [r for r in ROWS if not r["secret"]]
    changed = [r["text"] for r in innocent if redact(r["text"], SecretContext(r["context"])).found]
    assert len(changed) <= len(innocent) // 100, changed


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("My PASSWORD IS: Xk9#mm2q", "Xk9#mm2q"),
        ("my pw's Hunter2", "Hunter2"),
        ("P@ssword: Spring2024!", "Spring2024!"),
        ("login: jdoe pass Winter99", "Winter99"),
        ("credentials are jdoe:Summer2024", "Summer2024"),
        ("我password係 abc12345", "abc12345"),
        ("個pw係x7Yh2k99", "x7Yh2k99"),
        ("我將密碼改咗做Abc12345", "Abc12345"),
        ("密碼係abc12345", "abc12345"),
        ("new password = 'Tr0ub4dor&3'", "Tr0ub4dor&3"),
        ("the pin is 4821", "4821"),
        ("OTP 482913", "482913"),
        ("我嘅驗證碼係 482 913", "482 913"),
        ("TAP: Xy7#k9Lm", "Xy7#k9Lm"),
        ("recovery key 123456-234567-345678-456789-567890-678901-789012-890123", "890123"),
        ("token xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnop"),
        ("AKIAIOSFODNN7EXAMPLE is the key", "AKIAIOSFODNN7EXAMPLE"),
        ("card 4111 1111 1111 1111 expires 12/29", "4111 1111 1111 1111"),
    ],
)
def test_each_shape_of_secret_is_masked(text: str, secret: str) -> None:
    result = redact(text)
    assert secret not in result.text and MASK in result.text and result.found


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("my password is correct horse battery staple", ("correct", "horse", "staple")),
        ("passphrase: tea at the peak 2026", ("tea", "peak", "2026")),
        ("我嘅密碼係「飲茶 食點心 2026」", ("飲茶", "食點心")),
    ],
)
def test_a_passphrase_is_masked_whole_not_just_its_first_word(
    text: str, words: tuple[str, ...]
) -> None:
    masked = redact(text).text
    assert not any(word in masked for word in words), masked


def test_keywords_work_right_after_a_chinese_character() -> None:
    # Python's \b counts 我 as a word character, so "\bpassword" never matched here.
    assert redact("我password係 Qwerty123").text == f"我password係 {MASK}"
    assert redact("個pw係Lok!Fu2026").text == f"個pw係{MASK}"
    assert redact("PIN碼係7702").text == f"PIN碼係{MASK}"


def test_a_bare_password_is_masked_only_after_the_bot_asked_about_passwords() -> None:
    assert redact("Hunter2!x").text == "Hunter2!x"
    asked = redact("Hunter2!x", SecretContext.ASKED_PASSWORD)
    assert asked.text == MASK and asked.kinds == ("password",)
    assert redact("correct horse battery staple", SecretContext.ASKED_PASSWORD).text == MASK
    for answer in ("yes", "2", "HD-1234", "唔記得咗", "it's expired", "reset pls"):
        assert redact(answer, SecretContext.ASKED_PASSWORD).text == answer


@pytest.mark.parametrize(
    "text",
    [
        "Reset my password now",
        "reset my password please",
        "my password expired",
        "outlook keeps asking for my password",
        "password is expired",
        "I forgot my password",
        "the new password will be emailed to my manager?",
        "the password must be at least 12 characters",
        "密碼過咗期",
        "call me on 9123 4567",
        "ticket HD-1042 please",
        "我個HD-1042點呀",
        "my password doesn't work",
        "laptop tag HKB-LT-00421 is broken",
        "error code 0x80070005",
    ],
)
def test_ordinary_speech_is_left_alone(text: str) -> None:
    assert redact(text).text == text
    assert not redact(text).found


def test_already_masked_text_is_not_found_again() -> None:
    once = redact("my password is Hunter2!").text
    assert redact(once).text == once and not redact(once).found


@pytest.mark.parametrize(
    "text",
    [
        "BitLocker recovery key 1A2B3C4D",
        "my recovery key ID is 3F00AA11-1111-4A0B, what's the key",
        "bitlocker key 7e8f9a0b please",
    ],
)
def test_a_bitlocker_key_id_is_not_a_secret_but_the_key_is(text: str) -> None:
    assert not redact(text).found
    key = "recovery key 123456-234567-345678-456789-567890-678901-789012-890123"
    assert redact(key).found
