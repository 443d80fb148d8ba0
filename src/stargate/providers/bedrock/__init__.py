"""The AWS Bedrock provider: Converse and ConverseStream (the canonical path), InvokeModel and
InvokeModelWithResponseStream (Claude in the Anthropic Messages dialect), CountTokens.

Modules: :mod:`.provider` (the :class:`BedrockProvider`), :mod:`.converse_request`,
:mod:`.converse_response` and :mod:`.converse_stream` (pure translation to and from the canonical
core), :mod:`.invoke_request` and :mod:`.invoke_stream` (the Messages body Bedrock accepts, and
its stream's chunks), :mod:`.claude_features` (what each Claude family accepts, a data table),
:mod:`.model_ids` and :mod:`.model_identity` (what a model id says), :mod:`.count_tokens`,
:mod:`.eventstream` (frame decoding), :mod:`.errors` (the one error table), :mod:`.signing`
(credentials, SigV4 and bearer auth), :mod:`.endpoint` (region and URLs).
"""

from stargate.providers.bedrock.provider import BedrockProvider, BedrockTimeouts
from stargate.providers.bedrock.signing import (
    AwsCredentials,
    BearerToken,
    BedrockCredentials,
    CredentialSource,
    credential_source,
    open_credentials,
)

__all__ = [
    "AwsCredentials",
    "BearerToken",
    "BedrockCredentials",
    "BedrockProvider",
    "BedrockTimeouts",
    "CredentialSource",
    "credential_source",
    "open_credentials",
]
