"""An inbox row holds every typed field of an `Incoming`: what comes back is what went in."""

from __future__ import annotations

import dataclasses

from bot.inbox import codec
from bot.messages import Actor, Command, Incoming


def test_an_incoming_with_every_field_set_comes_back_equal() -> None:
    msg = Incoming(
        actor=Actor(
            "slack", "U1", "chan.taiman@corp.example.com", "Chan", timezone="Asia/Hong_Kong"
        ),
        conversation_id="D1",
        text="我個account鎖咗 \ud800",
        lang="zh-Hant",
        thread_id="1790001000.000100",
        choice="@ticket:cancel:1002",
        form={"summary": "VPN", "description": "since 9am"},
        event_id="Ev1",
        forms=True,
        redacted=True,
        locale="en",
        addressed=False,
        command=Command("comment", ("1002", "still", "broken")),
        address={"channel": "D1"},
    )
    unset = [f.name for f in dataclasses.fields(msg) if getattr(msg, f.name) == f.default]
    assert unset == [], f"set every field in this test: {unset}"
    assert codec.incoming(codec.dump(msg)) == msg
