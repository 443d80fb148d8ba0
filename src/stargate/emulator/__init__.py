"""A wire-faithful local AWS Bedrock Runtime emulator, for development, demos, tests, benchmarks.

Serves ``POST /model/{modelId}/converse`` and ``/converse-stream`` (every model), ``/invoke`` and
``/invoke-with-response-stream`` (Anthropic Messages bodies, Claude models) and ``/count-tokens``
(Claude base ids) as Bedrock does: SigV4 (service ``bedrock``) over the raw path against one
configured key pair, or a configured Bearer token; ``x-amzn-RequestId`` on every response;
Bedrock's error codes, statuses, headers and messages; event streams byte-exact with botocore's
decoder, with ``"p"`` padding.

**Models** (:mod:`stargate.emulator.models`): real Bedrock ids for Claude, Nova, Llama and
Mistral, with geography/global inference profiles and ARNs. A profile-only model by base id is
Bedrock's on-demand 400; an unknown id is 400 "The provided model identifier is invalid.".

**Replies** are deterministic (:mod:`stargate.emulator.reply`): a fixed sentence quoting the last
user message; a ``toolUse`` when tools are offered and the message says ``call NAME`` /
``use NAME`` / ``use the NAME tool`` (input from the tool's schema and ``key=value`` pairs in the
message); a sentence quoting the tool result when the message carries ``toolResult`` blocks.
``maxTokens`` and ``stopSequences`` are honoured. Usage is ``ceil(characters / 4)``
(:mod:`stargate.emulator.tokens`), exact for what is returned.

**InvokeModel for Claude** (:mod:`stargate.emulator.invoke`): the body is checked as Bedrock checks
it (:mod:`stargate.emulator.messages_request`, :mod:`stargate.emulator.messages_content`):
``anthropic_version`` exactly ``bedrock-2023-05-31``, ``max_tokens`` and ``messages`` required,
no extraneous key (``model``, ``stream``, ``metadata``...; ``context_management`` and
``output_config.effort`` only with their betas) in Bedrock's "Malformed input request: #: ..."
words; then in Anthropic's: betas per model family (one table,
:mod:`stargate.emulator.claude_rules`; otherwise "invalid beta flag: <value>"), roles ``user`` /
``assistant``, ``cache_control`` (``ttl`` on the 4.5 family and newer only, at most four),
``thinking`` (``enabled`` with ``1024 <= budget_tokens < max_tokens``, the upper bound lifted by
the interleaved-thinking beta; ``adaptive`` on Opus 4.6 / Sonnet 4.6 only). A model that is not
Claude is a 400. The reply follows the rules above in Anthropic shape
(:mod:`stargate.emulator.messages_reply`): the quote of all the last user message's text blocks,
``tool_use`` blocks, the quote of ``tool_result`` content (string or blocks), ``max_tokens`` /
``stop_sequences`` with their stop reasons; with thinking a ``thinking`` block (deterministic
text and ``signature``) comes first. The stream is ``chunk`` events of base64 Anthropic events:
``message_start`` (``output_tokens`` 1), per block ``content_block_start`` / ``text_delta``,
``thinking_delta`` + ``signature_delta`` or ``input_json_delta`` (after ``input: {}``) /
``content_block_stop``, ``message_delta``, ``message_stop`` with
``amazon-bedrock-invocationMetrics``. Message ids are ``msg_bdrk_...``, tool ids
``toolu_bdrk_...``, ``model`` the Anthropic model name.

**Prompt caching** is simulated for InvokeModel (:mod:`stargate.emulator.prompt_cache`): the
prefix up to the last ``cache_control`` block is written the first time it is seen
(``cache_creation_input_tokens``, split into ``ephemeral_5m``/``ephemeral_1h`` by TTL) and read
by later requests sharing it (``cache_read_input_tokens``); ``input_tokens`` is the rest. A
bounded LRU of prefix hashes, per model, cleared by ``POST /_emulator/reset``. (Converse does not
simulate caching: its cache counts are zero.)

**CountTokens** (:mod:`stargate.emulator.count_tokens`) answers ``{"inputTokens": N}`` for an
``invokeModel`` body or a ``converse`` input, exactly what the reply rules count as that
request's whole input; base model ids only (profiles and ARNs: 400 "The provided model doesn't
support counting tokens.").

**Scripted faults** (:mod:`stargate.emulator.faults`, names in :data:`FAULT_NAMES`), chosen per
request by a marker ``[[fault:NAME]]`` in the last user message text, or by the header
``x-emulator-fault: NAME[, NAME...]``:

==========================  =================================================================
``throttle``                429 ThrottlingException "Too many requests, please wait before
                            trying again."
``server-error``            500 InternalServerException
``unavailable``             503 ServiceUnavailableException
``access-denied``           403 AccessDeniedException "You don't have access to the model with
                            the specified model ID."
``validation``              400 ValidationException
``model-timeout``           408 ModelTimeoutException
``midstream-throttle``      stream: some deltas, then a ``throttlingException`` frame, then close
``midstream-error``         stream: some deltas, then an ``internalServerException`` frame
``truncate``                stream: some deltas, then close without ``messageStop``/``metadata``
                            (``message_stop`` on ``invoke-with-response-stream``)
``slow-first-byte=MS``      sleep MS milliseconds before the response (headers or first frame)
``slow-chunks=MS``          sleep MS milliseconds between stream frames
==========================  =================================================================

The same faults act on ``invoke`` and ``invoke-with-response-stream`` (mid-stream ones as exception
frames between ``chunk`` events, never Anthropic ``error`` events). Stream-only faults on
``converse`` and ``invoke`` are ignored. ``count-tokens`` takes faults from the header only (a
marker in the message is meant for the inference call). Faults act after the body is checked.
Unknown fault names are a 400, never ignored.

**Observability** (no auth): ``GET /_emulator/stats`` (requests by operation, errors by code,
streams started/completed/faulted/cancelled-by-client, prompt cache entries and
reads/writes), ``GET /_emulator/requests`` (the last 100 requests, credentials redacted),
``POST /_emulator/reset`` (counters, recorded requests and the prompt cache),
``GET /_emulator/health``.

**Fast mode** (``fast=True``): fixed padding, no per-request logging, no access log and no
request recording (counters stay). ``verify_signatures=False`` turns credential checks off.
"""

from __future__ import annotations

from stargate.emulator.app import create_app
from stargate.emulator.config import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig
from stargate.emulator.faults import FAULT_HEADER, FAULT_NAMES
from stargate.emulator.server import run, serve

__all__ = [
    "FAULT_HEADER",
    "FAULT_NAMES",
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "EmulatorConfig",
    "create_app",
    "run",
    "serve",
]
