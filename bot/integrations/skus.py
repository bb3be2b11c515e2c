"""Microsoft 365 licence names people know, from `m365_skus.toml` (SKUs, service plans,
products → the plans that provide them, suites → their SKUs)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def sku_catalogue() -> dict[str, Any]:
    """The SKU / service-plan / product names (`m365_skus.toml`)."""
    raw = resources.files("bot.integrations").joinpath("m365_skus.toml").read_text("utf-8")
    return tomllib.loads(raw)


def sku_name(part_number: str) -> str:
    return str(sku_catalogue().get("skus", {}).get(part_number, {}).get("name", part_number))


def plan_name(plan: str) -> str:
    return str(sku_catalogue().get("plans", {}).get(plan, plan))
