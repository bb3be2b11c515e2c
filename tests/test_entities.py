"""Entities read from messages in English and Cantonese: refs, products, groups, people,
urgency, yes / no and ratings."""

from __future__ import annotations

import pytest

from bot.intents import find_entities
from bot.intents.entities import Group, Person, Product, Share, rating, yes_or_no


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("HD-1042 any update?", 1042),
        ("hd1042 cancel pls", 1042),
        ("#HD-12 still broken", 12),
        ("我張單HD-1042點呀", 1042),
        ("請問#1042搞成點", 1042),
        ("取消hd 2203啦", 2203),
        ("status of ticket 20391", 20391),
    ],
)
def test_ticket_refs_are_read_even_right_after_a_chinese_character(text: str, number: int) -> None:
    assert [t.number for t in find_entities(text).tickets] == [number]


@pytest.mark.parametrize("text", ["call me at ext 3321", "my laptop is 5 years old", "shd1042"])
def test_numbers_that_are_not_ticket_refs_are_left_alone(text: str) -> None:
    assert find_entities(text).tickets == ()


def test_products_are_the_catalogue_names_longest_first() -> None:
    assert find_entities("do i have power bi pro?").products == (
        Product("power bi pro", "power bi pro"),
    )
    assert [p.name for p in find_entities("我有冇Visio同E5").products] == ["visio", "e5"]


def test_groups_shares_and_mailboxes_are_named_in_both_languages() -> None:
    assert find_entities("am i in the vpn-users grp").groups[0].name == "vpn-users"
    assert find_entities("am i in the trading floor group").groups[0].name == "trading floor"
    assert find_entities("我喺唔喺finance group度").groups[0].name == "finance"
    assert find_entities("申請加入vpn組").groups[0].name == "vpn"
    assert find_entities("dl-trading 幫新同事加入").groups[0].name == "dl-trading"
    assert find_entities(r"俾 \\fs01\finance access 我").shares == (Share(r"\\fs01\finance"),)
    mailbox = find_entities("add me to the settlements shared mailbox").groups
    assert mailbox == (Group("settlements", "mailbox", "settlements shared mailbox"),)
    assert find_entities("which groups am i in").groups == ()


def test_people_are_read_by_email() -> None:
    found = find_entities("please give Bob.Lee@corp.example.com access")
    assert found.people == (Person("bob.lee@corp.example.com"),)


def test_urgency_words_in_both_languages() -> None:
    assert find_entities("URGENT: trading screens frozen").urgent == ("urgent",)
    assert "好急" in find_entities("好急！交易系統死咗").urgent
    assert find_entities("no rush, the printer jams").urgent == ()


@pytest.mark.parametrize(
    ("text", "answer"),
    [("ok", True), ("Yes!", True), ("好呀", True), ("no", False), ("唔使", False), ("maybe", None)],
)
def test_yes_and_no_are_whole_message_answers(text: str, answer: bool | None) -> None:
    assert yes_or_no(text) is answer
    assert find_entities(text).answer is answer


@pytest.mark.parametrize(
    ("text", "stars"),
    [("5 stars", 5), ("4/5", 4), ("five stars", 5), ("五粒星", 5), ("3粒星", 3), ("⭐⭐", 2)],
)
def test_ratings_in_both_languages(text: str, stars: int) -> None:
    assert rating(text) == stars
    assert "rating" in find_entities(text).kinds()


def test_a_rating_inside_a_sentence_is_not_an_answer() -> None:
    assert rating("the 5 stars hotel wifi is slow") is None


def test_entity_kinds_are_the_model_features() -> None:
    kinds = find_entities("HD-1042 好急，我喺唔喺finance group").kinds()
    assert kinds == ("ticket_ref", "group", "urgent")
