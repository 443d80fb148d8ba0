"""The configuration Stargate runs on when no file is given (``make run``, tests).

It is ordinary LiteLLM-compatible YAML, loaded by the same code as a user's file, and
``examples/config.yaml`` carries the same content with more comments (a test keeps the two
equal). No endpoint is written: each deployment takes ``AWS_BEDROCK_RUNTIME_ENDPOINT`` when it is
set (the local emulator) and otherwise calls real Bedrock in ``us-east-1``.

Prices are the ``us.`` cross-region profile rates in USD per token (reference/bedrock.md §7):
Claude 4.5 models carry the 10% geographic premium over the ``global.`` profiles.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CONFIG_SOURCE", "DEFAULT_CONFIG_YAML"]

DEFAULT_CONFIG_SOURCE = "<built-in default config>"

DEFAULT_CONFIG_YAML = """\
model_list:
  - model_name: claude-haiku-4-5
    litellm_params: &haiku
      model: bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0
      aws_region_name: us-east-1
    model_info: &haiku_info
      id: claude-haiku-4-5
      description: Claude Haiku 4.5, fast and cost-effective
      input_cost_per_token: 0.0000011
      output_cost_per_token: 0.0000055
      cache_read_input_token_cost: 0.00000011
      cache_creation_input_token_cost: 0.000001375
      max_input_tokens: 200000
      max_output_tokens: 64000

  - model_name: claude-sonnet-4-5
    litellm_params: &sonnet
      model: bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0
      aws_region_name: us-east-1
    model_info: &sonnet_info
      id: claude-sonnet-4-5
      description: Claude Sonnet 4.5, balanced performance
      input_cost_per_token: 0.0000033
      output_cost_per_token: 0.0000165
      cache_read_input_token_cost: 0.00000033
      cache_creation_input_token_cost: 0.000004125
      max_input_tokens: 200000
      max_output_tokens: 64000

  - model_name: claude-opus-4-5
    litellm_params: &opus
      model: bedrock/us.anthropic.claude-opus-4-5-20251101-v1:0
      aws_region_name: us-east-1
    model_info: &opus_info
      id: claude-opus-4-5
      description: Claude Opus 4.5, most capable
      input_cost_per_token: 0.0000055
      output_cost_per_token: 0.0000275
      cache_read_input_token_cost: 0.00000055
      cache_creation_input_token_cost: 0.000006875
      max_input_tokens: 200000
      max_output_tokens: 64000

  - model_name: model-cheap
    litellm_params:
      model: bedrock/us.amazon.nova-micro-v1:0
      aws_region_name: us-east-1
    model_info:
      id: model-cheap
      description: Amazon Nova Micro, for simple tasks
      input_cost_per_token: 0.000000035
      output_cost_per_token: 0.00000014
      cache_read_input_token_cost: 0.00000000875
      cache_creation_input_token_cost: 0
      max_input_tokens: 128000
      max_output_tokens: 10000

  - model_name: model-balanced
    litellm_params: *sonnet
    model_info:
      <<: *sonnet_info
      id: model-balanced

  - model_name: model-reasoning
    litellm_params: *opus
    model_info:
      <<: *opus_info
      id: model-reasoning

  # Claude Code asks for names such as claude-opus-4-8, claude-sonnet-5 or
  # claude-haiku-4-5-20251001. These wildcard routes serve each family's names with this
  # gateway's model of that family (docs/claude-code.md); exact names above win.
  - model_name: claude-opus-*
    litellm_params: *opus
    model_info:
      <<: *opus_info
      id: claude-opus-family

  - model_name: claude-sonnet-*
    litellm_params: *sonnet
    model_info:
      <<: *sonnet_info
      id: claude-sonnet-family

  - model_name: claude-haiku-*
    litellm_params: *haiku
    model_info:
      <<: *haiku_info
      id: claude-haiku-family

"""
