"""The environment's part: ``os.environ/NAME`` references, ``environment_variables`` defaults,
and the variables that override the file (master key, database, listeners)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from stargate.config import GatewayConfig, load_config
from stargate.errors import ConfigError

REFERENCES = """\
model_list:
  - model_name: a
    litellm_params:
      model: os.environ/MODEL
      aws_access_key_id: os.environ/KEY_ID
      aws_secret_access_key: os.environ/SECRET
      rpm: os.environ/RPM
    model_info:
      input_cost_per_token: os.environ/PRICE
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DB
"""
REFERENCE_ENV = {
    "MODEL": "bedrock/amazon.nova-micro-v1:0",
    "KEY_ID": "AKIDEXAMPLE",
    "SECRET": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "RPM": "120",
    "PRICE": "0.000000035",
    "LITELLM_MASTER_KEY": "sk-from-env",
    "DB": "sqlite:///data/gw.db",
}


def load_text(tmp_path: Path, text: str, env: dict[str, str]) -> GatewayConfig:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_config(path, env)


def error_of(tmp_path: Path, text: str, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text, env)
    return str(caught.value)


def test_references_are_resolved_wherever_a_value_is_used(tmp_path: Path) -> None:
    config = load_text(tmp_path, REFERENCES, REFERENCE_ENV)

    deployment = config.deployments[0]
    assert deployment.model == "amazon.nova-micro-v1:0"
    assert deployment.params["aws_access_key_id"] == "AKIDEXAMPLE"
    assert deployment.params["aws_secret_access_key"] == REFERENCE_ENV["SECRET"]
    assert deployment.params["rpm"] == 120
    assert deployment.info.input_cost_per_token == Decimal("0.000000035")
    assert config.master_key == "sk-from-env"
    assert config.database_url == "sqlite+aiosqlite:///data/gw.db"


def test_an_unset_variable_names_the_field_and_the_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in REFERENCE_ENV.items() if k != "SECRET"}
    assert error_of(tmp_path, REFERENCES, env) == (
        f"{tmp_path / 'config.yaml'}: model_list[0].litellm_params.aws_secret_access_key: "
        "environment variable SECRET is not set (line 6)"
    )


def test_a_malformed_reference_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, "general_settings:\n  master_key: os.environ/\n", {})
    assert "general_settings.master_key: 'os.environ/' does not name an environment variable" in (
        message
    )


def test_environment_variables_are_defaults_that_the_environment_overrides(
    tmp_path: Path,
) -> None:
    text = """\
        environment_variables:
          REGION: eu-west-1
          PORT_NUMBER: 8080
          DATABASE_URL: postgres://db/gw
        model_list:
          - model_name: a
            litellm_params:
              model: bedrock/amazon.nova-micro-v1:0
              aws_region_name: os.environ/REGION
        general_settings:
          port: os.environ/PORT_NUMBER
        """
    defaults = load_text(tmp_path, text, {})
    assert defaults.deployments[0].params["aws_region_name"] == "eu-west-1"
    assert defaults.port == 8080
    assert defaults.database_url == "postgresql+asyncpg://db/gw"

    overridden = load_text(tmp_path, text, {"REGION": "us-east-2"})
    assert overridden.deployments[0].params["aws_region_name"] == "us-east-2"


def test_environment_variables_must_be_scalars(tmp_path: Path) -> None:
    message = error_of(tmp_path, "environment_variables:\n  X: [1, 2]\n", {})
    assert "environment_variables.X: must be a string, number or boolean (line 2)" in message


def test_listener_and_database_defaults(tmp_path: Path) -> None:
    config = load_text(tmp_path, "", {})
    assert (config.host, config.port, config.admin_host, config.admin_port) == (
        "0.0.0.0",
        4000,
        "127.0.0.1",
        4001,
    )
    assert config.database_url == "sqlite+aiosqlite:///./var/stargate.db"
    assert config.master_key is None


def test_the_environment_overrides_the_file(tmp_path: Path) -> None:
    text = """\
        general_settings:
          master_key: sk-from-file
          database_url: sqlite:///file.db
          host: 10.0.0.1
          port: 5000
          admin_host: 10.0.0.2
          admin_port: 5001
        """
    from_file = load_text(tmp_path, text, {})
    assert (from_file.master_key, from_file.database_url) == (
        "sk-from-file",
        "sqlite+aiosqlite:///file.db",
    )
    assert (from_file.host, from_file.port, from_file.admin_host, from_file.admin_port) == (
        "10.0.0.1",
        5000,
        "10.0.0.2",
        5001,
    )

    env = {
        "LITELLM_MASTER_KEY": "sk-litellm",
        "STARGATE_MASTER_KEY": "sk-stargate",
        "DATABASE_URL": "postgresql://u@h/db",
        "STARGATE_HOST": "127.0.0.1",
        "STARGATE_PORT": "8000",
        "STARGATE_ADMIN_HOST": "127.0.0.1",
        "STARGATE_ADMIN_PORT": "8001",
    }
    overridden = load_text(tmp_path, text, env)
    assert overridden.master_key == "sk-stargate"
    assert overridden.database_url == "postgresql+asyncpg://u@h/db"
    assert (overridden.host, overridden.port) == ("127.0.0.1", 8000)
    assert (overridden.admin_host, overridden.admin_port) == ("127.0.0.1", 8001)

    litellm_only = load_text(tmp_path, text, {"LITELLM_MASTER_KEY": "sk-litellm"})
    assert litellm_only.master_key == "sk-litellm"
    stargate_db = load_text(tmp_path, text, {**env, "STARGATE_DATABASE_URL": "sqlite:///s.db"})
    assert stargate_db.database_url == "sqlite+aiosqlite:///s.db"


def test_empty_override_variables_count_as_unset(tmp_path: Path) -> None:
    config = load_text(
        tmp_path, "general_settings: {master_key: sk-file}\n", {"STARGATE_MASTER_KEY": ""}
    )
    assert config.master_key == "sk-file"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("general_settings: {master_key: mykey}\n", {}, "general_settings.master_key: "),
        ("", {"STARGATE_MASTER_KEY": "mykey"}, "environment: STARGATE_MASTER_KEY: "),
        ("", {"LITELLM_MASTER_KEY": "Bearer sk-1"}, "environment: LITELLM_MASTER_KEY: "),
    ],
)
def test_a_master_key_must_start_with_sk(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    message = error_of(tmp_path, text, env)
    assert expected + "the master key must start with 'sk-'" in message
    assert "mykey" not in message.replace("master_key", "")  # the secret is not echoed


def test_a_bad_port_variable_is_named(tmp_path: Path) -> None:
    assert error_of(tmp_path, "", {"STARGATE_PORT": "http"}) == (
        "environment: STARGATE_PORT: 'http' is not a port number (0-65535)"
    )


def test_the_admin_listener_needs_its_own_port(tmp_path: Path) -> None:
    message = error_of(tmp_path, "general_settings: {port: 4000, admin_port: 4000}\n", {})
    assert "general_settings.admin_port: the admin listener needs a port of its own" in message
    separate_hosts = load_text(
        tmp_path,
        "general_settings: {host: 10.0.0.1, admin_host: 127.0.0.1, port: 4000, admin_port: 4000}\n",
        {},
    )
    assert separate_hosts.port == separate_hosts.admin_port == 4000
    ephemeral = load_text(tmp_path, "", {"STARGATE_PORT": "0", "STARGATE_ADMIN_PORT": "0"})
    assert ephemeral.port == ephemeral.admin_port == 0


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("mysql://root@db/gw", "environment: DATABASE_URL: "),
        ("postgresql+psycopg2://u@h/db", "environment: DATABASE_URL: "),
    ],
)
def test_an_unsupported_database_is_refused(tmp_path: Path, url: str, origin: str) -> None:
    message = error_of(tmp_path, "", {"DATABASE_URL": url})
    assert message.startswith(origin)
    assert "not supported" in message


def test_an_unsupported_database_in_the_file_names_the_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, "general_settings: {database_url: 'mongodb://x'}\n", {})
    assert "general_settings.database_url: database 'mongodb' is not supported" in message


def test_secrets_stay_out_of_the_repr(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "general_settings: {master_key: sk-very-secret, database_url: 'postgres://u:pw@h/d'}\n",
        {},
    )
    assert "sk-very-secret" not in repr(config)
    assert "pw" not in repr(config)
    assert config.database_url_redacted == "postgresql+asyncpg://u:***@h/d"
