"""Settings: flags over MARKETO_* variables over a dotenv file; the secret is never shown."""

from __future__ import annotations

from pathlib import Path

from marketo_async.cli._settings import MASK, read_dotenv, resolve_settings
from tests.cli.conftest import Invoke

SECRET = "s3cr3t-value-never-shown"


def test_dotenv_syntax(tmp_path: Path) -> None:
    path = tmp_path / "marketo.env"
    path.write_text(
        "# comment\n"
        "export MARKETO_CLIENT_ID=abc\n"
        "MARKETO_CLIENT_SECRET='quoted # not a comment'\n"
        "MARKETO_BASE_URL=https://123-ABC-456.mktorest.com  # inline comment\n"
        "not a setting\n",
        encoding="utf-8",
    )
    assert read_dotenv(path) == {
        "MARKETO_CLIENT_ID": "abc",
        "MARKETO_CLIENT_SECRET": "quoted # not a comment",
        "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com",
    }


def test_precedence_and_sources(tmp_path: Path) -> None:
    dotenv = tmp_path / "x.env"
    dotenv.write_text(
        "MARKETO_MUNCHKIN_ID=111-AAA-111\nMARKETO_CLIENT_ID=from-dotenv\n"
        f"MARKETO_CLIENT_SECRET={SECRET}\n",
        encoding="utf-8",
    )
    environ = {"MARKETO_CLIENT_ID": "from-env", "MARKETO_BASE_URL": "https://b.mktorest.com"}
    settings = resolve_settings(
        {"client_id": "from-flag", "client_secret": "ignored"}, env_file=dotenv, environ=environ
    )
    assert settings.client_id == "from-flag"
    assert settings.client_secret == SECRET  # a secret flag is ignored: env/dotenv only
    # the environment's base_url beats the dotenv file's munchkin id: one target only
    assert (settings.base_url, settings.munchkin_id) == ("https://b.mktorest.com", None)
    assert settings.sources == {
        "base_url": "env",
        "client_id": "flag",
        "client_secret": str(dotenv),
    }
    flagged = resolve_settings({"munchkin_id": "222-BBB-222"}, env_file=dotenv, environ=environ)
    assert (flagged.base_url, flagged.munchkin_id) == (None, "222-BBB-222")
    assert SECRET not in repr(settings)
    assert settings.masked()["client_secret"] == MASK


def test_dot_env_in_the_working_directory_is_read(isolated: Path) -> None:
    (isolated / ".env").write_text("MARKETO_CLIENT_ID=cwd\n", encoding="utf-8")
    assert resolve_settings({}, environ={}).client_id == "cwd"


def test_config_show_masks_the_secret(invoke: Invoke, isolated: Path) -> None:
    (isolated / ".env").write_text(f"MARKETO_CLIENT_SECRET={SECRET}\n", encoding="utf-8")
    result = invoke(
        None, "config", "show", "--client-id", "abc", env={"MARKETO_MUNCHKIN_ID": "123-ABC-456"}
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert MASK in result.output
    assert "123-ABC-456" in result.output and "abc" in result.output
    assert "flag" in result.output and "env" in result.output and ".env" in result.output


def test_config_show_names_what_is_missing(invoke: Invoke) -> None:
    result = invoke(None, "config", "show")
    assert result.exit_code == 0
    assert "Missing:" in result.output and "MARKETO_CLIENT_SECRET" in result.output


def test_no_flag_takes_the_secret(invoke: Invoke, tmp_path: Path) -> None:
    leads = tmp_path / "l.csv"
    leads.write_text("email\na@example.com\n", encoding="utf-8")
    result = invoke(None, "leads", "upsert", leads, "--client-secret", SECRET)
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_a_command_without_settings_says_what_to_set(invoke: Invoke, tmp_path: Path) -> None:
    leads = tmp_path / "l.csv"
    leads.write_text("email\na@example.com\n", encoding="utf-8")
    result = invoke(None, "leads", "upsert", leads, env={"MARKETO_CLIENT_SECRET": SECRET})
    assert result.exit_code == 2
    assert "MARKETO_BASE_URL" in result.output and "--sandbox" in result.output
    assert SECRET not in result.output


def test_config_show_gives_the_redis_fleet_without_its_password(
    invoke: Invoke, isolated: Path
) -> None:
    result = invoke(
        None,
        "config",
        "show",
        "--redis",
        "redis://:redis-pass-never-shown@cache.internal:6379/0",
        env={"MARKETO_REDIS_KEY": "123-abc-456.mktorest.com"},
    )
    assert result.exit_code == 0, result.output
    assert "redis-pass-never-shown" not in result.output
    assert f"redis://:{MASK}@cache.internal:6379/0" in result.output
    assert "MARKETO_REDIS_KEY" in result.output and "123-abc-456.mktorest.com" in result.output
