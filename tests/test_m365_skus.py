"""The Microsoft 365 licence table (bot/integrations/m365_skus.toml) is complete and consistent.

Spot checks are against Microsoft Learn, "Product names and service plan identifiers for
licensing" (table dated 29 October 2025).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

TABLE = Path(__file__).resolve().parent.parent / "bot" / "integrations" / "m365_skus.toml"


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    with TABLE.open("rb") as f:
        return tomllib.load(f)


def skus_providing(table: dict[str, Any], product: str) -> set[str]:
    """The SKUs that would give a user `product` ("which licence would provide it")."""
    wanted = set(table["products"][product])
    return {sku for sku, entry in table["skus"].items() if wanted & set(entry["plans"])}


def test_only_the_documented_tables() -> None:
    with TABLE.open("rb") as f:
        data = tomllib.load(f)
    assert set(data) == {"skus", "plans", "products", "sku_products"}


def test_at_least_sixty_skus(table: dict[str, Any]) -> None:
    assert len(table["skus"]) >= 60


def test_every_sku_has_a_name_and_plans(table: dict[str, Any]) -> None:
    for sku, entry in table["skus"].items():
        assert set(entry) == {"name", "plans"}, sku
        assert isinstance(entry["name"], str), sku
        assert entry["name"].strip(), sku
        assert entry["plans"], sku
        assert all(isinstance(p, str) and p for p in entry["plans"]), sku
        assert len(entry["plans"]) == len(set(entry["plans"])), f"{sku} repeats a plan"


def test_every_plan_a_sku_uses_has_a_name(table: dict[str, Any]) -> None:
    plans = table["plans"]
    missing = {
        (sku, p) for sku, entry in table["skus"].items() for p in entry["plans"] if p not in plans
    }
    assert missing == set()
    assert all(isinstance(v, str) and v.strip() for v in plans.values())


def test_every_plan_a_product_uses_has_a_name(table: dict[str, Any]) -> None:
    missing = {
        (product, p)
        for product, plans in table["products"].items()
        for p in plans
        if p not in table["plans"]
    }
    assert missing == set()


def test_every_named_plan_is_used(table: dict[str, Any]) -> None:
    used = {p for entry in table["skus"].values() for p in entry["plans"]}
    assert set(table["plans"]) - used == set()


def test_every_product_plan_comes_with_some_sku(table: dict[str, Any]) -> None:
    provided = {p for entry in table["skus"].values() for p in entry["plans"]}
    orphans = {
        (product, p)
        for product, plans in table["products"].items()
        for p in plans
        if p not in provided
    }
    assert orphans == set()
    for product, plans in table["products"].items():
        assert plans, product
        assert len(plans) == len(set(plans)), product


def test_every_sku_product_names_known_skus(table: dict[str, Any]) -> None:
    for product, skus in table["sku_products"].items():
        assert skus, product
        assert set(skus) <= set(table["skus"]), product
        assert len(skus) == len(set(skus)), product


def test_product_names_are_distinct_and_normalised(table: dict[str, Any]) -> None:
    names = [*table["products"], *table["sku_products"]]
    assert len(names) == len({" ".join(n.lower().split()) for n in names})
    assert all(n == " ".join(n.lower().split()) for n in names)


def test_the_required_products_are_answerable(table: dict[str, Any]) -> None:
    required = {
        "visio", "project", "power bi", "power bi pro", "teams", "teams phone",
        "audio conferencing", "outlook", "exchange", "email", "office", "word", "excel",
        "powerpoint", "onedrive", "sharepoint", "intune", "copilot", "power apps",
        "power automate", "defender", "entra id p1", "entra id p2", "windows enterprise",
    }  # fmt: skip
    assert required <= set(table["products"])
    assert {"e3", "e5"} <= set(table["sku_products"])
    for product in table["products"]:
        assert skus_providing(table, product), product


# Spot checks against the Microsoft Learn table.


def test_sku_names(table: dict[str, Any]) -> None:
    names = {sku: entry["name"] for sku, entry in table["skus"].items()}
    assert names["ENTERPRISEPACK"] == "Office 365 E3"
    assert names["SPE_E3"] == "Microsoft 365 E3"
    assert names["SPE_E5"] == "Microsoft 365 E5"
    assert names["SPB"] == "Microsoft 365 Business Premium"
    assert names["O365_BUSINESS_PREMIUM"] == "Microsoft 365 Business Standard"
    assert names["O365_BUSINESS_ESSENTIALS"] == "Microsoft 365 Business Basic"
    assert names["SPE_F1"] == "Microsoft 365 F3"
    assert names["DESKLESSPACK"] == "Office 365 F3"
    assert names["EMS"] == "Enterprise Mobility + Security E3"
    assert names["VISIOCLIENT"] == "Visio Plan 2"
    assert names["MCOEV"] == "Microsoft Teams Phone Standard"


def test_sku_plans(table: dict[str, Any]) -> None:
    plans = {sku: set(entry["plans"]) for sku, entry in table["skus"].items()}
    assert {"MCOEV", "MCOMEETADV", "BI_AZURE_P2", "TEAMS1"} <= plans["SPE_E5"]
    assert {"VISIO_CLIENT_SUBSCRIPTION", "VISIOONLINE"} <= plans["VISIOCLIENT"]
    assert "VISIO_CLIENT_SUBSCRIPTION" not in plans["VISIOONLINE_PLAN1"]
    assert plans["POWER_BI_PRO"] == {"BI_AZURE_P2"}
    assert {"BI_AZURE_P2", "BI_AZURE_P3"} <= plans["PBI_PREMIUM_PER_USER"]
    assert {"EXCHANGE_S_ENTERPRISE", "OFFICESUBSCRIPTION", "TEAMS1"} <= plans["ENTERPRISEPACK"]
    assert {"INTUNE_A", "AAD_PREMIUM", "MDE_LITE"} <= plans["SPE_E3"]
    assert "MCOEV" not in plans["SPE_E3"]
    assert "TEAMS1" not in plans["Microsoft_365_E3_(no_Teams)"]
    assert "TEAMS1" not in plans["O365_w/o Teams Bundle_M3"]
    assert {"OFFICE_BUSINESS", "INTUNE_A", "ATP_ENTERPRISE", "MDE_SMB"} <= plans["SPB"]
    assert "OFFICE_BUSINESS" not in plans["O365_BUSINESS_ESSENTIALS"]
    assert {"AAD_PREMIUM", "AAD_PREMIUM_P2", "INTUNE_A"} <= plans["EMSPREMIUM"]
    assert "AAD_PREMIUM_P2" not in plans["EMS"]
    assert plans["THREAT_INTELLIGENCE"] == {"ATP_ENTERPRISE", "THREAT_INTELLIGENCE"}
    assert {"M365_COPILOT_APPS", "M365_COPILOT_TEAMS"} <= plans["Microsoft_365_Copilot"]
    assert plans["MCOTEAMS_ESSENTIALS"] == {"MCOEV", "MCOPSTN1"}
    assert "EXCHANGE_S_DESKLESS" in plans["SPE_F1"]


def test_which_licence_would_provide_it(table: dict[str, Any]) -> None:
    visio = skus_providing(table, "visio desktop")
    assert {"VISIOCLIENT", "VISIO_PLAN2_DEPT"} <= visio
    assert not visio & {"SPE_E5", "VISIOONLINE_PLAN1"}
    teams_phone = skus_providing(table, "teams phone")
    assert {"MCOEV", "SPE_E5", "ENTERPRISEPREMIUM", "MCOTEAMS_ESSENTIALS"} <= teams_phone
    assert "SPE_E3" not in teams_phone
    assert {"POWER_BI_PRO", "SPE_E5", "PBI_PREMIUM_PER_USER"} <= skus_providing(
        table, "power bi pro"
    )
    assert skus_providing(table, "copilot") >= {"Microsoft_365_Copilot"}
    assert "SPE_E5" not in skus_providing(table, "copilot")
    assert "ENTERPRISEPACK" not in skus_providing(table, "project")
    assert "O365_BUSINESS_ESSENTIALS" not in skus_providing(table, "word")
    assert "O365_BUSINESS_ESSENTIALS" in skus_providing(table, "onedrive")
