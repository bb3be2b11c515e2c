"""Configuration: defaults, validation naming the setting, and clean failures at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings, parse_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_embedded_defaults_when_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.source == "embedded defaults"
    assert settings.directory.backend == "demo"
    assert settings.db_path == Path("data/helpdesk.db")


def test_example_file_is_valid_and_equals_the_defaults() -> None:
    text = (ROOT / "helpdesk.example.toml").read_text("utf-8")
    from_file = parse_settings(text, "example", {})
    defaults = parse_settings("", "embedded defaults", {})
    assert from_file.bot == defaults.bot and from_file.kb == defaults.kb
    assert from_file.self_service == defaults.self_service
    assert from_file.intents == defaults.intents and from_file.console == defaults.console
    assert from_file.tickets == defaults.tickets and from_file.sla == defaults.sla
    assert from_file.roles == defaults.roles


def test_data_dir_and_log_level_from_environment() -> None:
    settings = parse_settings(
        "", "t", {"HELPDESK_DATA_DIR": "/srv/hd", "HELPDESK_LOG_LEVEL": "info"}
    )
    assert settings.db_path == Path("/srv/hd/helpdesk.db")
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    ("toml", "setting"),
    [
        ("[bot]\nnmae = 'x'\n", "bot.nmae"),
        ("[bott]\n", "bott"),
        ("[kb]\nmax_results = 'three'\n", "kb.max_results"),
        ("[kb]\nmax_results = 0\n", "kb.max_results"),
        ("[intents]\nthreshold = 1.5\n", "intents.threshold"),
        ("[self_service]\nunlocks_per_day = true\n", "self_service.unlocks_per_day"),
        ("[directory]\nbackend = 'ldapp'\n", "directory.backend"),
        ("[bot]\ntimezone = 'Mars/Olympus'\n", "bot.timezone"),
        ("[bot]\nname = ''\n", "bot.name"),
        ("bot = 3\n", "bot"),
        ("[bot\nname=", "t"),
    ],
)
def test_invalid_settings_name_the_setting(toml: str, setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(toml, "t", {})
    assert caught.value.setting == setting


def test_bad_log_level_is_named() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_LOG_LEVEL"):
        parse_settings("", "t", {"HELPDESK_LOG_LEVEL": "LOUD"})


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HELPDESK_CONFIG"):
        load_settings({"HELPDESK_CONFIG": str(tmp_path / "missing.toml")})


def _helpdesk(
    args: list[str], env: dict[str, str], cwd: Path, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    "content",
    [b"[bot\nname = 'x'", b"\xff\xfe\x00binary", b"[kb]\npath = 'no/such/folder'\n"],
)
def test_corrupt_config_stops_chat_with_one_clear_line(tmp_path: Path, content: bytes) -> None:
    config = tmp_path / "helpdesk.toml"
    config.write_bytes(content)
    done = _helpdesk(["chat"], {"HELPDESK_CONFIG": str(config)}, ROOT, b"hi\n")
    err = done.stderr.decode()
    assert done.returncode == 2
    assert err.startswith("helpdesk: configuration error:")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_config_check_reports_the_setup(tmp_path: Path) -> None:
    done = _helpdesk(["config", "check"], {"HELPDESK_DATA_DIR": str(tmp_path)}, ROOT)
    assert done.returncode == 0, done.stderr
    assert "configuration OK (embedded defaults)" in done.stdout.decode()
    assert (tmp_path / "helpdesk.db").exists()


def test_config_show_prints_valid_toml_of_the_settings(tmp_path: Path) -> None:
    done = _helpdesk(["config", "show"], {"HELPDESK_DATA_DIR": str(tmp_path)}, ROOT)
    shown = done.stdout.decode()
    reparsed = parse_settings(shown, "shown", {})
    assert reparsed.kb == parse_settings("", "defaults", {}).kb


def test_readme_documents_every_setting_and_environment_variable() -> None:
    import dataclasses

    from bot.config import SECTIONS, TABLE_SECTIONS

    readme = (ROOT / "README.md").read_text("utf-8")
    example = (ROOT / "helpdesk.example.toml").read_text("utf-8")
    for name, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"`{name}.{f.name}`" in readme, f"README lacks {name}.{f.name}"
            assert f"\n{f.name} = " in example, f"example file lacks {name}.{f.name}"
    for name, cls in TABLE_SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert f"`{name}.NAME.{f.name}`" in readme, f"README lacks {name}.NAME.{f.name}"
            assert f"\n# {f.name} = " in example, f"example file lacks {name}.NAME.{f.name}"
    for var in (
        "HELPDESK_CONFIG",
        "HELPDESK_DATA_DIR",
        "HELPDESK_LOG_LEVEL",
        "HELPDESK_LOG_FORMAT",
    ):
        assert f"`{var}`" in readme
