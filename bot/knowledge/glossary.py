"""The bilingual glossary (Chinese / Cantonese → English) and the English synonyms."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import resources


@cache
def glossary() -> dict[str, str]:
    raw = resources.files("bot.knowledge").joinpath("glossary.toml").read_text("utf-8")
    return {k.lower(): str(v) for k, v in tomllib.loads(raw)["zh_en"].items()}


@cache
def _pattern() -> re.Pattern[str]:
    terms = sorted(glossary(), key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in terms))


def translate_terms(text: str) -> list[str]:
    """English words for the glossary terms found in `text` (longest match first)."""
    found: list[str] = []
    for match in _pattern().finditer(text.lower()):
        found.extend(glossary()[match.group(0)].split())
    return found


# Characters that carry no topic of their own in a question: pronouns, particles, measure
# words, negation and the commonest verbs of asking (Cantonese, Traditional and Simplified).
FUNCTION_CHARACTERS = frozenset(
    "我你佢他她它哋們们嘅的咗了啲個个部隻张張架係是唔不冇沒没有嗰呢這这那乜咩點点邊边度"
    "就都又好咁啦呀嘞喎吖囉嘛吗呢吧啊喇咯噉咁在和同及或與与要想會会可以能到去來来做用得着"
    "著過过一幾几多少之其些嚟未仲再先後后而但如果因為为所即便上下中入出開开"
    # Cantonese that says how, when or who, not what: 話 (says), 喺 (at), 入面 (inside),
    # 自己 (by itself), 完 (after), 叫 (asks), 全部/完全 (all), 嗰陣 (when), 俾 (to, by),
    # 晒 (all of it), 返 (back), 明明 (clearly), 緊 (-ing), 嘢 (thing)
    "話话喺面自己完叫全陣阵俾晒返明緊紧嘢"
)


def untranslated(text: str) -> int:
    """How many characters of a Chinese run no glossary term covers, function characters aside."""
    covered = _pattern().sub("", text.lower())
    return sum(1 for ch in covered if ch not in FUNCTION_CHARACTERS)


@cache
def synonyms() -> dict[str, tuple[str, ...]]:
    """English question word → article words that mean the same in IT support."""
    raw = resources.files("bot.knowledge").joinpath("synonyms.toml").read_text("utf-8")
    return {
        k.lower(): tuple(str(v) for v in vs) for k, vs in tomllib.loads(raw)["synonyms"].items()
    }
