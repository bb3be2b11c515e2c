"""`helpdesk teams manifest`: the app package Teams accepts, and the adapter's checklist."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

from tests.harness import ROOT

APP_ID = "00000000-0000-4000-8000-00000000b07a"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_command_writes_an_uploadable_package(tmp_path: Path) -> None:
    config = tmp_path / "helpdesk.toml"
    config.write_text(f'[teams]\napp_id = "{APP_ID}"\ntenant_id = "{APP_ID}"\n', "utf-8")
    out = tmp_path / "app.zip"
    env = {**os.environ, "HELPDESK_CONFIG": str(config), "HELPDESK_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "teams",
            "manifest",
            "--url",
            "https://helpdesk.corp.example.com",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "helpdesk.corp.example.com/api/messages" in done.stdout
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        assert _png_size(package.read("color.png")) == (192, 192)
        assert _png_size(package.read("outline.png")) == (32, 32)
    assert manifest["id"] == manifest["bots"][0]["botId"] == APP_ID
    assert manifest["validDomains"] == ["helpdesk.corp.example.com"]
    for command_list in manifest["bots"][0]["commandLists"]:
        assert 1 <= len(command_list["commands"]) <= 10
        assert all(c["description"] for c in command_list["commands"])
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "teams", "manifest", "--url", "http://x.example"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "https" in refused.stderr


def test_the_checklist_is_ticked_and_names_a_test_for_each_item() -> None:
    checklist = (ROOT / "bot" / "adapters" / "teams" / "CHECKLIST.md").read_text("utf-8")
    items = re.findall(r"^- \[( |x)\] (.+)$", checklist, re.MULTILINE)
    ticked = [text for mark, text in items if mark == "x"]
    assert len(ticked) >= 12
    files = [*(ROOT / "tests").glob("test_teams*.py"), ROOT / "tests" / "test_identity_graph.py"]
    tests = "".join(p.read_text("utf-8") for p in files)
    for text in ticked:
        named = re.findall(r"`(test_\w+)`", text)
        assert named, f"no test named for: {text}"
        for name in named:
            assert f"def {name}(" in tests, name
