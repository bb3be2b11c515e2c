"""Which language a message is in.

Hong Kong staff mix English and Chinese in one sentence ("我個account鎖咗"). The
rule is simple and documented: any Han character makes the message Chinese and
the reply Traditional Chinese (Cantonese register); otherwise English.
"""

from __future__ import annotations

import re

from bot.messages import Lang

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")


def detect_language(text: str) -> Lang:
    """Return "zh-Hant" when `text` contains a Han character, else "en"."""
    return "zh-Hant" if _HAN.search(text) else "en"


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None
