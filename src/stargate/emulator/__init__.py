"""A wire-faithful local AWS Bedrock Runtime emulator, for development, demos, tests, benchmarks.

Serves ``POST /model/{modelId}/converse`` and ``/converse-stream`` as Bedrock does: SigV4
(service ``bedrock``) over the raw path against one configured key pair, or a configured Bearer
token; ``x-amzn-RequestId`` on every response; Bedrock's error codes, statuses, headers and
messages; event streams byte-exact with botocore's decoder, with ``"p"`` padding.

**Models** (:mod:`stargate.emulator.models`): real Bedrock ids for Claude, Nova, Llama and
Mistral, with geography/global inference profiles and ARNs. A profile-only model by base id is
Bedrock's on-demand 400; an unknown id is 400 "The provided model identifier is invalid.".

**Replies** are deterministic (:mod:`stargate.emulator.reply`): a fixed sentence quoting the last
user message; a ``toolUse`` when tools are offered and the message says ``call NAME`` /
``use NAME`` / ``use the NAME tool`` (input from the tool's schema and ``key=value`` pairs in the
message); a sentence quoting the tool result when the message carries ``toolResult`` blocks.
``maxTokens`` and ``stopSequences`` are honoured. Usage is ``ceil(characters / 4)``
(:mod:`stargate.emulator.tokens`), exact for what is returned.

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
``slow-first-byte=MS``      sleep MS milliseconds before the response (headers or first frame)
``slow-chunks=MS``          sleep MS milliseconds between stream frames
==========================  =================================================================

Stream-only faults on ``converse`` are ignored. Unknown fault names are a 400, never ignored.

**Observability** (no auth): ``GET /_emulator/stats`` (requests by operation, errors by code,
streams started/completed/faulted/cancelled-by-client), ``GET /_emulator/requests`` (the last
100 requests, credentials redacted), ``POST /_emulator/reset``, ``GET /_emulator/health``.

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
