"""Where the CLI finds the admin URL and the master key: flags, env, then ./.env."""

from __future__ import annotations

from pathlib import Path

import pytest

from stargate.cli.connection import DEFAULT_URL, read_dotenv, resolve
from stargate.cli.errors import AuthError, ExitCode, InputError

KEY = "sk-from-flag-0123456789"


def test_flags_win_over_everything(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("STARGATE_ADMIN_URL=http://dotenv:1\nSTARGATE_MASTER_KEY=sk-d\n")
    env = {"STARGATE_ADMIN_URL": "http://env:2", "STARGATE_MASTER_KEY": "sk-env"}
    found = resolve("http://flag:3/", KEY, env, tmp_path)
    assert (found.url, found.master_key) == ("http://flag:3", KEY)
    assert (found.url_from, found.key_from) == ("--url", "--master-key")


def test_stargate_names_win_over_litellm_names_in_the_environment(tmp_path: Path) -> None:
    env = {
        "LITELLM_URL": "http://litellm:4000",
        "LITELLM_MASTER_KEY": "sk-litellm",
        "STARGATE_ADMIN_URL": "http://stargate:4001",
        "STARGATE_MASTER_KEY": "sk-stargate",
    }
    found = resolve(None, None, env, tmp_path)
    assert (found.url, found.master_key) == ("http://stargate:4001", "sk-stargate")
    assert found.key_from == "$STARGATE_MASTER_KEY"


def test_the_seed_litellm_names_are_read(tmp_path: Path) -> None:
    env = {"LITELLM_URL": "http://alb.example:80", "LITELLM_MASTER_KEY": "sk-seed"}
    found = resolve(None, None, env, tmp_path)
    assert (found.url, found.master_key) == ("http://alb.example:80", "sk-seed")


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LITELLM_URL=http://dotenv:1\nLITELLM_MASTER_KEY=sk-dotenv\n")
    found = resolve(None, None, {"LITELLM_MASTER_KEY": "sk-env"}, tmp_path)
    assert found.master_key == "sk-env"
    assert found.url == "http://dotenv:1"
    assert found.url_from == f"LITELLM_URL in {tmp_path / '.env'}"


def test_seed_003_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# scripts/.env\n"
        "export LITELLM_URL='http://llm-gateway-dev-alb.elb.amazonaws.com'\n"
        'LITELLM_MASTER_KEY="sk-your-master-key-here"  \n'
        "\n"
        "IGNORED LINE\n"
    )
    found = resolve(None, None, {}, tmp_path)
    assert found.url == "http://llm-gateway-dev-alb.elb.amazonaws.com"
    assert found.master_key == "sk-your-master-key-here"


def test_default_url_and_a_url_without_scheme(tmp_path: Path) -> None:
    assert resolve(None, "sk-x", {}, tmp_path).url == DEFAULT_URL
    assert resolve("gateway.internal:4001", "sk-x", {}, tmp_path).url == (
        "http://gateway.internal:4001"
    )


def test_no_master_key_is_an_auth_error_saying_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as caught:
        resolve(None, None, {"STARGATE_ADMIN_URL": "http://x:1"}, tmp_path)
    assert caught.value.code == ExitCode.AUTH
    assert "STARGATE_MASTER_KEY" in caught.value.message


@pytest.mark.parametrize("url", ["ftp://host/", "http://", "http://host:notaport"])
def test_a_bad_url_is_a_usage_error(tmp_path: Path, url: str) -> None:
    with pytest.raises(InputError) as caught:
        resolve(url, "sk-x", {}, tmp_path)
    assert caught.value.code == ExitCode.USAGE


def test_the_master_key_never_shows_in_the_connection_repr(tmp_path: Path) -> None:
    found = resolve("http://h:1", "sk-very-secret-value", {}, tmp_path)
    assert "sk-very-secret-value" not in repr(found)


def test_read_dotenv_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_dotenv(tmp_path / ".env") == {}


def test_read_dotenv_trailing_comment(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("A=1 # one\nB='x # y'\n")
    assert read_dotenv(path) == {"A": "1", "B": "x # y"}
