"""Which Microsoft 365 product a question names, and which licences provide it: shared by
the licence check (`bot.handlers.directory_checks`) and the request catalogue
(`bot.handlers.catalogue_requests`), so neither imports the other."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from importlib import resources

from rapidfuzz import fuzz, process

from bot.integrations.directory import Licence
from bot.integrations.skus import plan_name, sku_catalogue, sku_name

_WORDS = re.compile(r"[a-z0-9][a-z0-9+&-]*")
# Words of the question itself, not of a product or group name.
_QUESTION_WORDS = frozenset(
    """
    a am an any are check do does got group groups grp have i if im in is it licence
    licences license licenses licensed me member membership members my of on part please
    pls plz the to what which whether you u dl list lists distribution mailing security
    access team can could tell show see know want need assigned belong belongs included
    inside acc account really get give grant join add request requesting
    """.split()
)
_HAN = re.compile(r"[\u3400-\u9fff]+")


@cache
def products() -> dict[str, tuple[str, ...]]:
    """What people ask for → words to look for in licence and plan names (products.toml)."""
    raw = resources.files("bot.handlers").joinpath("products.toml").read_text("utf-8")
    return {k: tuple(v) for k, v in tomllib.loads(raw)["products"].items()}


def _catalogue_products() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in sku_catalogue().get("products", {}).items()}


def _suites() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in sku_catalogue().get("sku_products", {}).items()}


def subject(text: str) -> str:
    """The name being asked about: the message without question words or Chinese filler."""
    folded = _HAN.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return " ".join(w for w in _WORDS.findall(folded) if w not in _QUESTION_WORDS)


def wanted_product(subject: str) -> str | None:
    if not subject:
        return None
    names = sorted({*products(), *_catalogue_products(), *_suites()})
    match = process.extractOne(subject, names, scorer=fuzz.WRatio, score_cutoff=86)
    return None if match is None else str(match[0])


def _provides(licence: Licence, needles: tuple[str, ...]) -> bool:
    name = licence.name.lower()
    return any(n in name or n == licence.sku.lower() for n in needles)


def providers_of(product: str) -> list[str]:
    """Licence names that would provide `product`, most common first (suites first)."""
    catalogue = sku_catalogue().get("skus", {})
    plans = set(_catalogue_products().get(product, ()))
    parts = list(_suites().get(product, ()))
    parts += [part for part, sku in catalogue.items() if plans & set(sku.get("plans", ()))]
    names: list[str] = []
    for part in parts:
        name = sku_name(part)
        if name not in names:
            names.append(name)
    return names


def has_product(licence: Licence, product: str) -> tuple[bool, str | None]:
    """(provides it, the disabled plan that would provide it)."""
    if licence.sku in _suites().get(product, ()):
        return True, None
    plans = set(_catalogue_products().get(product, ()))
    if plans & set(licence.plans):
        return True, None
    needles = products().get(product, ())
    disabled = [
        p
        for p in licence.disabled_plans
        if p in plans or any(n in plan_name(p).lower() for n in needles)
    ]
    if disabled:
        return False, plan_name(disabled[0])
    if not licence.plans and needles and _provides(licence, needles):
        return True, None  # a backend without plan detail (the demo): by name
    return False, None


def providing_licence(licences: tuple[Licence, ...], name: str) -> tuple[str, str] | None:
    """(product, licence) when one of `licences` already provides the product `name` names."""
    product = wanted_product(subject(name))
    for licence in licences if product else ():
        if has_product(licence, product or "")[0]:
            return (product or "").title(), licence.name
    return None
