"""Loading LiteLLM-style config files: what loads, what is warned about, what is refused and
how the refusal reads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stargate.config import GatewayConfig, check_config, load_config
from stargate.errors import ConfigError

NO_ENV: dict[str, str] = {}
NOVA = "litellm_params: {model: bedrock/amazon.nova-micro-v1:0}"

SEED_CONFIG = """\
model_list:
  - model_name: claude-haiku-4-5
    litellm_params:
      model: bedrock/anthropic.claude-3-5-haiku-20241022-v1:0
      aws_region_name: us-west-1
  - model_name: claude-sonnet-4-5
    litellm_params:
      model: bedrock/anthropic.claude-sonnet-4-5-20250514-v1:0
      aws_region_name: us-west-1
"""

# The shape of reference §B.5, as operators paste it (the non-Bedrock entries left out).
LITELLM_CONFIG = """\
model_list:
  - model_name: claude-sonnet            # public name clients send
    litellm_params:
      model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0
      aws_region_name: us-east-1
      rpm: 100
    model_info: {id: sonnet-use1, input_cost_per_token: 0.000003, output_cost_per_token: 0.000015}
  - model_name: claude-sonnet
    litellm_params:
      {model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0, aws_region_name: us-west-2}
litellm_settings:
  callbacks: ["prometheus", "otel"]
  drop_params: true
  request_timeout: 600
  cache: true
  cache_params: {type: redis, host: os.environ/REDIS_HOST, port: 6379, ttl: 600}
  max_budget: 1000
  budget_duration: 30d
  timezone: "Europe/Berlin"
router_settings:
  routing_strategy: simple-shuffle
  redis_host: os.environ/REDIS_HOST
  num_retries: 3
  fallbacks: [{"claude-sonnet": ["claude-haiku"]}]
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
  store_model_in_db: true
  proxy_batch_write_at: 10
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> GatewayConfig:
    return load_config(write(tmp_path, text), env or NO_ENV)


def error_of(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(tmp_path, text, env)
    return str(caught.value)


def test_a_seed_style_config_loads(tmp_path: Path) -> None:
    config = load_text(tmp_path, SEED_CONFIG)

    assert config.source == str(tmp_path / "config.yaml")
    assert config.model_names == ("claude-haiku-4-5", "claude-sonnet-4-5")
    first = config.deployments[0]
    assert (first.provider, first.api, first.model) == (
        "bedrock",
        "auto",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
    )
    assert first.params == {"aws_region_name": "us-west-1"}
    # The seed's Sonnet id (dated 20250514) is not a model Bedrock lists, so it has no price.
    (unpriced,) = config.warnings
    assert "model_list[1]: UNPRICED MODEL" in unpriced


def test_generated_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    first = load_text(tmp_path, SEED_CONFIG)
    again = load_text(tmp_path, SEED_CONFIG)
    ids = [d.id for d in first.deployments]
    assert ids == [d.id for d in again.deployments]
    assert len(set(ids)) == 2
    assert first.deployments[0].info.id == ids[0]


def test_a_full_litellm_config_loads_and_names_every_ignored_setting(tmp_path: Path) -> None:
    env = {
        "LITELLM_MASTER_KEY": "sk-1234",
        "DATABASE_URL": "postgresql://u:p@db:5432/litellm",
        "REDIS_HOST": "redis.internal",
    }
    config = load_text(tmp_path, LITELLM_CONFIG, env)

    assert config.deployments[0].id == "sonnet-use1"
    assert config.model_names == ("claude-sonnet",)
    assert config.master_key == "sk-1234"
    assert config.database_url == "postgresql+asyncpg://u:p@db:5432/litellm"
    assert config.drop_params is True
    assert config.budget_timezone == "Europe/Berlin"  # litellm_settings.timezone
    ignored = {w.split(": ")[1] for w in config.warnings}
    assert config.callbacks == ("prometheus", "otel")
    assert ignored == {
        "litellm_settings.request_timeout",
        "litellm_settings.cache",
        "litellm_settings.cache_params",
        "litellm_settings.max_budget",
        "litellm_settings.budget_duration",
        "router_settings.routing_strategy",
        "router_settings.redis_host",
        "router_settings.num_retries",
        "router_settings.fallbacks",
        "general_settings.store_model_in_db",
        "general_settings.proxy_batch_write_at",
    }
    cache_warning = next(w for w in config.warnings if "litellm_settings.cache:" in w)
    assert cache_warning == (
        f"{tmp_path / 'config.yaml'}: litellm_settings.cache: "
        "LiteLLM setting not implemented by Stargate; ignored (line 15)"
    )
    # The raw sections stay available to later features, references resolved.
    assert config.router_settings["redis_host"] == "redis.internal"
    assert config.litellm_settings["cache_params"]["host"] == "redis.internal"
    assert config.router_settings["fallbacks"] == [{"claude-sonnet": ["claude-haiku"]}]


def test_an_unset_variable_in_an_ignored_setting_is_no_error(tmp_path: Path) -> None:
    config = load_text(tmp_path, "router_settings:\n  redis_password: os.environ/REDIS_PASSWORD\n")
    assert config.router_settings["redis_password"] == "os.environ/REDIS_PASSWORD"


@pytest.mark.parametrize(
    ("text", "path", "suggestion", "line"),
    [
        ("model_lst: []\n", "model_lst", "model_list", 1),
        ("general_settings:\n  master_kye: sk-1\n", "general_settings.master_kye", "master_key", 2),
        (
            "model_list:\n  - model_nme: a\n",
            "model_list[0].model_nme",
            "model_name",
            2,
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params:\n"
            "      model: bedrock/amazon.nova-micro-v1:0\n      aws_regin_name: us-east-1\n",
            "model_list[0].litellm_params.aws_regin_name",
            "aws_region_name",
            5,
        ),
        (
            "router_settings:\n  routing_stratgy: simple-shuffle\n",
            "router_settings.routing_stratgy",
            "routing_strategy",
            2,
        ),
        (
            f"model_list:\n  - model_name: a\n    {NOVA}\n    model_info:\n"
            "      input_cost_per_tokens: 0.1\n",
            "model_list[0].model_info.input_cost_per_tokens",
            "input_cost_per_token",
            5,
        ),
    ],
)
def test_an_unknown_key_is_refused_with_its_path_and_a_suggestion(
    tmp_path: Path, text: str, path: str, suggestion: str, line: int
) -> None:
    message = error_of(tmp_path, text)
    key = path.rsplit(".", 1)[-1]
    assert message == (
        f"{tmp_path / 'config.yaml'}: {path}: unknown key {key!r}; "
        f"did you mean {suggestion!r}? (line {line})"
    )


def test_an_unknown_key_with_no_close_match_lists_what_is_read(tmp_path: Path) -> None:
    message = error_of(tmp_path, "general_settings:\n  colour: blue\n")
    assert "general_settings.colour: unknown key 'colour': neither Stargate nor LiteLLM" in message
    assert (
        "admin_host, admin_port, allow_requests_on_db_unavailable, budget_timezone, "
        "counter_allotments, database_url, host, master_key" in message
    )


def test_custom_model_info_metadata_is_kept(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        model_list:
          - model_name: a
            litellm_params: {model: bedrock/amazon.nova-micro-v1:0}
            model_info:
              supports_vision: false
              mode: chat
              my_custom_key: my value
              access_groups: [cheap-models]
        """,
    )
    info = config.deployments[0].info
    assert dict(info.extra) == {
        "supports_vision": False,
        "mode": "chat",
        "my_custom_key": "my value",
    }
    assert info.access_groups == ("cheap-models",)
    assert config.warnings == ()


def test_a_litellm_price_stargate_does_not_apply_is_warned(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        """\
        model_list:
          - model_name: a
            litellm_params: {model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0}
            model_info: {output_cost_per_reasoning_token: 0.000006}
        """,
    )
    assert len(config.warnings) == 1
    assert (
        "model_info.output_cost_per_reasoning_token: LiteLLM price not applied"
        in (config.warnings[0])
    )


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        (
            "model_list:\n  - model_name: a\n    litellm_params:\n"
            "      model: bedrock/amazon.nova-micro-v1:0\n      rpm: lots\n",
            "model_list[0].litellm_params.rpm",
            "Input should be a valid integer, unable to parse string as an integer (line 5)",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params:\n"
            "      model: bedrock/amazon.nova-micro-v1:0\n      timeout: -1\n",
            "model_list[0].litellm_params.timeout",
            "Input should be greater than 0 (line 5)",
        ),
        (
            f"model_list:\n  - model_name: a\n    {NOVA}\n"
            "    model_info: {output_cost_per_token: cheap}\n",
            "model_list[0].model_info.output_cost_per_token",
            "Input should be a valid decimal (line 4)",
        ),
        (
            "general_settings:\n  port: http\n",
            "general_settings.port",
            "Input should be a valid integer",
        ),
        (
            "general_settings:\n  port: 70000\n",
            "general_settings.port",
            "less than or equal to 65535",
        ),
        (
            "litellm_settings:\n  drop_params: maybe\n",
            "litellm_settings.drop_params",
            "valid boolean",
        ),
        ("model_list: {a: 1}\n", "model_list", "Input should be a valid list (line 1)"),
        ("model_list:\n  - model_name: a\n", "model_list[0].litellm_params", "Field required"),
        (
            f"model_list:\n  - model_name: ''\n    {NOVA}\n",
            "model_list[0].model_name",
            "at least 1 character",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_with_its_path(
    tmp_path: Path, text: str, path: str, reason: str
) -> None:
    message = error_of(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'config.yaml'}: {path}: ")
    assert reason in message


def test_several_problems_are_reported_as_one_message(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        "model_list:\n  - model_name: a\n    litellm_params:\n"
        "      model: bedrock/amazon.nova-micro-v1:0\n      rpm: x\n      tpm: y\n",
    )
    assert message.count("\n") == 0
    assert "(and 1 more problem)" in message


def test_an_unsupported_provider_is_refused_before_its_variables_are_looked_up(
    tmp_path: Path,
) -> None:
    message = error_of(
        tmp_path,
        """\
        model_list:
          - model_name: gpt-4o
            litellm_params:
              model: openai/gpt-4o
              api_key: os.environ/OPENAI_API_KEY
        """,
    )
    assert message == (
        f"{tmp_path / 'config.yaml'}: model_list[0].litellm_params.model: provider 'openai' "
        "is not supported (supported providers: bedrock) (line 4)"
    )


@pytest.mark.parametrize(
    "model",
    [
        "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "bedrock/eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/apac.amazon.nova-micro-v1:0",
        "bedrock/jp.anthropic.claude-haiku-4-5-20251001-v1:0",
        "bedrock/au.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/converse/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123",
        "bedrock/arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0",
    ],
)
def test_profile_ids_and_arns_load(tmp_path: Path, model: str) -> None:
    config = load_text(
        tmp_path,
        f"model_list:\n  - model_name: m\n    litellm_params:\n      model: {model}\n",
    )
    deployment = config.deployments[0]
    assert f"bedrock/{deployment.model}" == model.replace("converse/", "")
    # No warning about the id's form (ids without a list price get the unpriced-model warning).
    assert [w for w in config.warnings if "UNPRICED MODEL" not in w] == []


def test_a_suspicious_profile_prefix_loads_with_a_warning(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "model_list:\n  - model_name: m\n    litellm_params:\n"
        "      model: bedrock/usa.anthropic.claude-haiku-4-5-20251001-v1:0\n",
    )
    assert len(config.warnings) == 2  # the prefix, and no list price for such an id
    assert "model_list[0].litellm_params.model: 'usa.' is not a known" in config.warnings[0]
    assert "model_list[0]: UNPRICED MODEL" in config.warnings[1]


def test_a_duplicate_deployment_id_is_refused(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        """\
        model_list:
          - model_name: a
            litellm_params: {model: bedrock/amazon.nova-micro-v1:0}
            model_info: {id: same}
          - model_name: b
            litellm_params: {model: bedrock/amazon.nova-lite-v1:0}
            model_info: {id: same}
        """,
    )
    assert "model_list[1].model_info.id: id 'same' is already used by model_list[0]" in message


def test_include_appends_models_and_errors_point_into_the_included_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        """\
        model_list:
          - model_name: extra
            litellm_params: {model: bedrock/amazon.nova-lite-v1:0}
        """,
        "models.yaml",
    )
    config = load_text(tmp_path, "include: [models.yaml]\n" + SEED_CONFIG)
    assert config.model_names == ("claude-haiku-4-5", "claude-sonnet-4-5", "extra")

    write(
        tmp_path, "model_list:\n  - model_name: bad\n    litellm_params: {model: x/y}\n", "bad.yaml"
    )
    message = error_of(tmp_path, "include: [bad.yaml]\n" + SEED_CONFIG)
    assert "model_list[2].litellm_params.model: provider 'x' is not supported" in message
    assert message.endswith("(bad.yaml line 3)")


def test_a_section_in_both_including_and_included_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "general_settings: {port: 5000}\n", "more.yaml")
    message = error_of(tmp_path, "include: [more.yaml]\ngeneral_settings: {port: 4000}\n")
    assert "general_settings: is set both here and in included file more.yaml" in message


def test_file_level_problems_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: file not found$"):
        load_config(tmp_path / "missing.yaml", NO_ENV)
    assert error_of(tmp_path, "- just\n- a list\n").endswith(
        "the top level must be a mapping of sections (model_list, general_settings, ...)"
    )
    assert "invalid YAML at line 2, column 9: mapping values are not allowed here" in error_of(
        tmp_path, "model_list:\n  - a: b: c\n"
    )


def test_an_empty_file_is_a_gateway_without_models(tmp_path: Path) -> None:
    config = load_text(tmp_path, "# nothing yet\n")
    assert config.deployments == ()
    assert config.drop_params is False


def test_empty_sections_are_allowed(tmp_path: Path) -> None:
    config = load_text(tmp_path, "model_list:\nlitellm_settings:\nrouter_settings:\n")
    assert config.deployments == ()


def test_check_config_accepts_what_load_config_accepts(tmp_path: Path) -> None:
    path = write(tmp_path, SEED_CONFIG)
    assert check_config(path, NO_ENV) == load_config(path, NO_ENV)


def test_observability_settings_load_and_unknown_callbacks_are_warned(tmp_path: Path) -> None:
    config = load_text(
        tmp_path,
        "litellm_settings:\n"
        "  callbacks: [prometheus, OTEL]\n"
        "  success_callback: [langfuse, datadog]\n"
        "  failure_callback: [langfuse]\n"
        "  turn_off_message_logging: false\n"
        "  require_auth_for_metrics_endpoint: true\n"
        "  prometheus_drop_high_cardinality_labels: true\n",
    )
    assert config.callbacks == ("prometheus", "otel", "langfuse")
    assert config.turn_off_message_logging is False
    assert config.metrics_require_auth is True
    assert config.metrics_drop_high_cardinality_labels is True
    (warning,) = config.warnings
    assert "litellm_settings.success_callback[1]: LiteLLM callback 'datadog' not implemented" in (
        warning
    )
