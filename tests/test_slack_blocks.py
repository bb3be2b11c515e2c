"""Slack rendering, escaping and the app manifest (pure functions, no network)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.adapters.slack.blocks import escape, modal, plain, reply_blocks, safe_url
from bot.adapters.slack.manifest import COMMAND_SCOPES, EVENT_SCOPES, METHOD_SCOPES, manifest
from bot.messages import ArticleCard, Choice, Form, FormField, Reply

ROOT = Path(__file__).resolve().parent.parent


def test_escape_neutralises_mentions_and_disguised_links() -> None:
    for raw in ("<!channel>", "<!here>", "<@U123>", "<https://evil.example|SSO login>"):
        assert "<" not in escape(raw) and ">" not in escape(raw)
    assert escape("a & b") == "a &amp; b"
    assert escape("&lt;") == "&amp;lt;"  # already-escaped text is shown as typed


def test_plain_turns_slack_markup_into_what_was_typed() -> None:
    assert plain("&lt;b&gt; &amp; x") == "<b> & x"
    assert plain("<@U1> hi", {"U1": ""}).strip() == "hi"
    assert plain("assign HD-1 <@U2|ho>", {"U2": "ho.kawai@corp.example.com"}) == (
        "assign HD-1 ho.kawai@corp.example.com"
    )
    assert plain("see <https://intra.example/x|the page>") == "see the page"
    assert plain("<!channel> help") == "@channel help"


def test_every_text_in_the_blocks_is_escaped() -> None:
    reply = Reply(
        "You said: <!channel>",
        cards=(ArticleCard("kb-1", "<@U9> title", "sum <!here>", "https://kb.example/a b|c"),),
        fields=(("<x>", "<y>"),),
        choices=(Choice("<!channel>", "v"),),
    )
    text, blocks = reply_blocks(reply)
    dumped = str(blocks) + text
    assert "<!channel>" not in text and "<!here>" not in dumped and "<@U9>" not in dumped
    link = re.search(r"<(https://[^|>]+)\|", dumped)
    assert link is not None and " " not in link.group(1) and "|c" not in link.group(1)


def test_only_http_links_are_made_clickable() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://kb.example/x") == "https://kb.example/x"


def test_long_text_is_split_into_sections_within_slacks_limit() -> None:
    text, blocks = reply_blocks(Reply("line & more\n" * 800))
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) >= 3
    assert all(len(b["text"]["text"]) <= 3000 for b in sections)
    assert all(not re.search(r"&[a-z]{0,3}$", b["text"]["text"]) for b in sections)
    assert len(text) <= 3900


def test_many_choices_are_rows_of_five_buttons_with_unique_action_ids() -> None:
    _, blocks = reply_blocks(
        Reply("pick", choices=tuple(Choice(str(i), str(i)) for i in range(12)))
    )
    rows = [b for b in blocks if b["type"] == "actions"]
    assert [len(r["elements"]) for r in rows] == [5, 5, 2]
    ids = [e["action_id"] for r in rows for e in r["elements"]]
    assert len(set(ids)) == 12


def test_a_form_becomes_a_modal_with_input_blocks() -> None:
    form = Form(
        "@human:form",
        "A very long title that Slack would refuse",
        (
            FormField("summary", "Summary"),
            FormField("body", "Body", multiline=True, required=False),
            FormField("u", "Urgency", options=(Choice("High", "high"), Choice("Low", "low"))),
        ),
        "Send",
    )
    view = modal(form, {"channel": "D1"})
    assert len(view["title"]["text"]) <= 24
    assert [b["block_id"] for b in view["blocks"]] == ["summary", "body", "u"]
    assert view["blocks"][1]["optional"] is True
    assert view["blocks"][2]["element"]["type"] == "static_select"
    assert '"@human:form"' in view["private_metadata"]


def test_the_manifest_asks_for_exactly_the_scopes_of_the_methods_the_adapter_calls() -> None:
    source = "".join(
        path.read_text("utf-8")
        for path in sorted((ROOT / "bot" / "adapters" / "slack").glob("*.py"))
    )
    called = set(
        re.findall(r'"((?:chat|views|conversations|users|auth|apps|files)\.[A-Za-z]+)"', source)
    )
    called |= {
        name.replace("_", ".", 1)
        for name in re.findall(r"client\.((?:chat|users|conversations|auth)_[a-zA-Z]+)\(", source)
    }
    normalised = set()
    for method in called:
        head, _, tail = method.partition(".")
        parts = tail.split("_")
        normalised.add(head + "." + parts[0] + "".join(p.title() for p in parts[1:]))
    assert normalised <= set(METHOD_SCOPES), normalised - set(METHOD_SCOPES)
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    needed = {s for m in normalised for s in METHOD_SCOPES[m]} | set(COMMAND_SCOPES)
    needed |= {s for group in EVENT_SCOPES.values() for s in group}
    assert scopes == needed


def test_the_manifest_uses_socket_mode_or_request_urls() -> None:
    socket = manifest()
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    http = manifest(url="https://bot.example.com")
    assert http["settings"]["socket_mode_enabled"] is False
    assert (
        http["settings"]["interactivity"]["request_url"] == "https://bot.example.com/slack/events"
    )
    assert http["features"]["slash_commands"][0]["command"] == "/helpdesk"
    assert http["features"]["shortcuts"][0]["callback_id"] == "send_to_helpdesk"
