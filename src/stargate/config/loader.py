"""``config.yaml`` (or the embedded defaults) plus the environment → :class:`GatewayConfig`.

The steps, each of which names the file, the field path and the reason when it refuses:

1. parse the YAML with exact decimals and the line of every key (:mod:`.yaml_text`);
2. merge ``include:`` files (paths relative to the including file; lists are appended);
3. build the variable lookup: the process environment, then ``environment_variables`` as
   defaults (``os.environ`` is never modified);
4. sort keys into implemented / LiteLLM-only (warned, ignored) / unknown (error) (:mod:`.screen`);
5. resolve ``os.environ/NAME`` references in every value Stargate uses (:mod:`.envref`);
6. validate types (:mod:`.schema`) and resolve each deployment (:mod:`.deployments`);
7. apply environment overrides and defaults for the master key, database and listeners.
"""

from __future__ import annotations

import fnmatch
from collections import ChainMap
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError

from stargate.config.database_url import (
    DEFAULT_DATABASE_URL,
    InvalidDatabaseUrl,
    normalize_database_url,
)
from stargate.config.defaults import DEFAULT_CONFIG_SOURCE, DEFAULT_CONFIG_YAML
from stargate.config.deployment import Deployment
from stargate.config.deployments import build_deployment
from stargate.config.envref import ENV_PREFIX, resolve_env_refs, resolve_env_refs_lenient
from stargate.config.gateway import (
    DEFAULT_ADMIN_HOST,
    DEFAULT_ADMIN_PORT,
    DEFAULT_BUDGET_TIMEZONE,
    DEFAULT_HOST,
    DEFAULT_PORT,
    GatewayConfig,
)
from stargate.config.location import Loc, Locator
from stargate.config.model_ref import InvalidModelRef, parse_model_ref
from stargate.config.prices import load_price_table
from stargate.config.pricing import price_deployment, price_deployments
from stargate.config.schema import (
    ConfigFile,
    GeneralSettings,
    LiteLLMSettings,
    ModelEntry,
    RouterSettings,
)
from stargate.config.screen import screen, screen_model_entry
from stargate.config.yaml_text import parse_yaml
from stargate.errors import ConfigError

__all__ = ["GatewayConfig", "check_config", "load_config", "load_deployment"]

_ENV_SOURCE = "environment"
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
_RAW_SECTIONS = ("litellm_settings", "router_settings", "general_settings")
_M = TypeVar("_M", bound=BaseModel)


def load_config(path: Path | None, env: Mapping[str, str]) -> GatewayConfig:
    """Load ``path`` (``None``: the embedded defaults) resolved against ``env``.

    Raises :class:`ConfigError` with one message naming the file, the field and the reason.
    """
    if path is None:
        return _load(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_SOURCE, None, env)
    return _load(_read(path), str(path), path.parent, env)


def check_config(path: Path, env: Mapping[str, str]) -> GatewayConfig:
    """``stargate config check FILE``: everything :func:`load_config` checks, and nothing that
    touches the network or a database (neither does loading)."""
    return load_config(path, env)


def load_deployment(
    entry: Mapping[str, Any], env: Mapping[str, str], *, index: int = 0, source: str = "model"
) -> tuple[Deployment, tuple[str, ...]]:
    """Validate and resolve one ``model_list`` entry that does not come from a file (the admin
    API's ``/model/new``, a row of the ``models`` table). Paths in errors start at the entry
    (``litellm_params.model``); ``index`` only seeds the generated id."""
    locator = Locator(source)
    lookup: Mapping[str, str] = dict(env)
    screened = screen_model_entry(dict(entry), (), locator)
    resolved = resolve_env_refs(screened.data, lookup, (), locator)
    model = _validate(ModelEntry, resolved, locator)
    deployment, warnings = build_deployment(model, index, (), lookup, locator)
    deployment, unpriced = price_deployment(deployment, load_price_table(), source=source)
    return deployment, (*screened.warnings, *warnings, *([unpriced] if unpriced else []))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("file not found", source=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", source=str(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", source=str(path)) from exc


def _load(text: str, source: str, base_dir: Path | None, env: Mapping[str, str]) -> GatewayConfig:
    document = parse_yaml(text, source)
    data = {} if document.data is None else document.data
    if not isinstance(data, dict):
        raise ConfigError(
            "the top level must be a mapping of sections (model_list, general_settings, ...)",
            source=source,
        )
    lines: dict[Loc, str] = {loc: f"line {n}" for loc, n in document.lines.items()}
    locator = Locator(source, lines)  # sees the included files' lines as they are added
    _merge_includes(data, lines, base_dir, locator)
    defaults = _environment_variables(data.get("environment_variables"), env, locator)
    lookup: Mapping[str, str] = ChainMap(dict(env), defaults)

    screened = screen(data, locator)
    _check_model_refs(screened.data.get("model_list"), locator)
    resolved = resolve_env_refs(screened.data, lookup, (), locator)
    file = _validate(ConfigFile, resolved, locator)
    warnings = list(screened.warnings)
    deployments = _deployments(file.model_list, lookup, locator, warnings)
    deployments, unpriced = price_deployments(deployments, source=source)
    warnings.extend(unpriced)

    general = file.general_settings
    host = _env_text(lookup, "STARGATE_HOST") or general.host or DEFAULT_HOST
    admin_host = (
        _env_text(lookup, "STARGATE_ADMIN_HOST") or general.admin_host or DEFAULT_ADMIN_HOST
    )
    port = _port(lookup, "STARGATE_PORT", general.port, DEFAULT_PORT)
    admin_port = _port(lookup, "STARGATE_ADMIN_PORT", general.admin_port, DEFAULT_ADMIN_PORT)
    if port == admin_port != 0 and (host == admin_host or {host, admin_host} & _WILDCARD_HOSTS):
        raise locator.error(
            ("general_settings", "admin_port"),
            f"the admin listener needs a port of its own ({admin_port} is the public port)",
        )
    aliases, hidden = _aliases(file.router_settings, deployments, locator)
    raw = {
        name: MappingProxyType(resolve_env_refs_lenient(section, lookup))
        for name in _RAW_SECTIONS
        if isinstance(section := data.get(name), dict)
    }
    return GatewayConfig(
        source=source,
        deployments=deployments,
        master_key=_master_key(general, lookup, locator),
        database_url=_database_url(general, lookup, locator),
        host=host,
        port=port,
        admin_host=admin_host,
        admin_port=admin_port,
        drop_params=file.litellm_settings.drop_params,
        redis_url=_env_text(lookup, "STARGATE_REDIS_URL")
        or _env_text(lookup, "REDIS_URL")
        or general.redis_url,
        redis_failure_policy=general.redis_failure_policy or "closed",
        counter_allotments=general.counter_allotments is not False,
        reservation_lease_seconds=_lease(lookup, general.reservation_lease_seconds, locator),
        budget_timezone=_budget_timezone(general, file.litellm_settings, locator),
        model_aliases=MappingProxyType(aliases),
        hidden_aliases=frozenset(hidden),
        allowed_fails=file.router_settings.allowed_fails,
        cooldown_seconds=file.router_settings.cooldown_time,
        cooldowns_enabled=not file.router_settings.disable_cooldowns,
        callbacks=_callbacks(file.litellm_settings, locator, warnings),
        turn_off_message_logging=file.litellm_settings.turn_off_message_logging,
        metrics_require_auth=file.litellm_settings.require_auth_for_metrics_endpoint,
        metrics_drop_high_cardinality_labels=(
            file.litellm_settings.prometheus_drop_high_cardinality_labels
        ),
        warnings=tuple(warnings),
        **raw,
    )


_CALLBACKS = frozenset({"prometheus", "otel", "opentelemetry", "langfuse", "langfuse_otel"})


def _callbacks(settings: LiteLLMSettings, locator: Locator, warnings: list[str]) -> tuple[str, ...]:
    """The implemented callbacks of ``callbacks``, ``success_callback`` and
    ``failure_callback`` (lower case, each once); any other name is warned about and ignored."""
    names: dict[str, None] = {}
    for key in ("callbacks", "success_callback", "failure_callback"):
        for index, name in enumerate(getattr(settings, key)):
            if name.lower() in _CALLBACKS:
                names[name.lower()] = None
            else:
                warnings.append(
                    locator.warning(
                        ("litellm_settings", key, index),
                        f"LiteLLM callback {name!r} not implemented by Stargate; ignored",
                    )
                )
    return tuple(names)


def _aliases(
    router: RouterSettings, deployments: tuple[Deployment, ...], locator: Locator
) -> tuple[dict[str, str], set[str]]:
    """``router_settings.model_group_alias``: each alias must name a served model (or a name one
    of the wildcard deployments matches), and must not shadow a served model."""
    names = {d.model_name for d in deployments}
    patterns = [n for n in names if is_wildcard(n)]
    aliases: dict[str, str] = {}
    hidden: set[str] = set()
    for alias, target in router.model_group_alias.items():
        at = ("router_settings", "model_group_alias", alias)
        model = target if isinstance(target, str) else target.model
        if alias in names:
            raise locator.error(at, f"'{alias}' is already a model_name; an alias cannot hide it")
        if model not in names and not any(fnmatch.fnmatchcase(model, p) for p in patterns):
            raise locator.error(at, f"'{model}' is not a model_name in model_list")
        aliases[alias] = model
        if not isinstance(target, str) and target.hidden:
            hidden.add(alias)
    return aliases, hidden


def is_wildcard(model_name: str) -> bool:
    """A ``model_name`` with ``*``/``?``/``[`` is a pattern: it serves every name it matches."""
    return any(c in model_name for c in "*?[")


def _merge_includes(
    data: dict[str, Any], lines: dict[Loc, str], base_dir: Path | None, locator: Locator
) -> None:
    """LiteLLM's ``include:``: each file's lists are appended to the including file's, any
    other section is added (a section in both files is an error: which one wins is unclear)."""
    include = data.pop("include", None)
    if include is None:
        return
    if not isinstance(include, list) or not all(isinstance(p, str) and p for p in include):
        raise locator.error(("include",), "must be a list of file paths")
    if base_dir is None:
        raise locator.error(("include",), "only a config file on disk can include others")
    for name in include:
        path = base_dir / name
        document = parse_yaml(_read(path), str(path))
        included = {} if document.data is None else document.data
        if not isinstance(included, dict) or "include" in included:
            raise ConfigError(
                "an included file must be a mapping of sections, without include: of its own",
                source=str(path),
            )
        for key, value in included.items():
            own = {loc[1:]: n for loc, n in document.lines.items() if loc[:1] == (key,)}
            existing = data.get(key)
            if isinstance(existing, list) and isinstance(value, list):
                offset = len(existing)
                existing.extend(value)
                for loc, n in own.items():
                    if loc and isinstance(loc[0], int):
                        lines[(key, loc[0] + offset, *loc[1:])] = f"{name} line {n}"
                continue
            if key in data:
                raise locator.error((key,), f"is set both here and in included file {name}")
            data[key] = value
            for loc, n in own.items():
                lines[(key, *loc)] = f"{name} line {n}"


def _environment_variables(
    section: Any, env: Mapping[str, str], locator: Locator
) -> dict[str, str]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise locator.error(("environment_variables",), "must be a mapping of NAME: value")
    defaults: dict[str, str] = {}
    for name, value in section.items():
        loc: Loc = ("environment_variables", name)
        value = resolve_env_refs(value, env, loc, locator)
        if value is None:
            continue
        if isinstance(value, bool):
            defaults[name] = "true" if value else "false"
        elif isinstance(value, str | int | Decimal):
            defaults[name] = str(value)
        else:
            raise locator.error(loc, "must be a string, number or boolean")
    return defaults


def _validate(model: type[_M], data: Any, locator: Locator) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, int | str))
        more = exc.error_count() - 1
        reason = first["msg"] + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
        raise locator.error(loc, reason) from exc


def _check_model_refs(model_list: Any, locator: Locator) -> None:
    """Refuse an unsupported provider before anything else, so a LiteLLM config with an
    ``openai/...`` entry is told that, rather than that ``OPENAI_API_KEY`` is not set."""
    if not isinstance(model_list, list):
        return
    for index, entry in enumerate(model_list):
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        model = params.get("model") if isinstance(params, dict) else None
        provider = params.get("custom_llm_provider") if isinstance(params, dict) else None
        if not isinstance(model, str) or model.startswith(ENV_PREFIX):
            continue
        if provider is not None and (
            not isinstance(provider, str) or provider.startswith(ENV_PREFIX)
        ):
            continue
        try:
            parse_model_ref(model, provider)
        except InvalidModelRef as exc:
            raise locator.error(("model_list", index, "litellm_params", "model"), str(exc)) from exc


def _deployments(
    entries: list[ModelEntry], lookup: Mapping[str, str], locator: Locator, warnings: list[str]
) -> tuple[Deployment, ...]:
    deployments: list[Deployment] = []
    first_use: dict[str, int] = {}
    for index, entry in enumerate(entries):
        loc: Loc = ("model_list", index)
        deployment, notes = build_deployment(entry, index, loc, lookup, locator)
        warnings.extend(notes)
        if deployment.id in first_use:
            raise locator.error(
                (*loc, "model_info", "id"),
                f"id {deployment.id!r} is already used by model_list[{first_use[deployment.id]}]",
            )
        first_use[deployment.id] = index
        deployments.append(deployment)
    return tuple(deployments)


def _env_text(lookup: Mapping[str, str], name: str) -> str | None:
    value = lookup.get(name, "").strip()
    return value or None


def _port(lookup: Mapping[str, str], name: str, from_file: int | None, default: int) -> int:
    text = _env_text(lookup, name)
    if text is None:
        return from_file if from_file is not None else default
    if not text.isdigit() or int(text) > 65535:
        raise ConfigError(f"{text!r} is not a port number (0-65535)", source=_ENV_SOURCE, path=name)
    return int(text)


def _master_key(
    general: GeneralSettings, lookup: Mapping[str, str], locator: Locator
) -> str | None:
    for name in ("STARGATE_MASTER_KEY", "LITELLM_MASTER_KEY"):
        key = _env_text(lookup, name)
        if key is not None:
            if not key.startswith("sk-"):
                raise ConfigError(
                    "the master key must start with 'sk-'", source=_ENV_SOURCE, path=name
                )
            return key
    if general.master_key is not None and not general.master_key.startswith("sk-"):
        raise locator.error(
            ("general_settings", "master_key"), "the master key must start with 'sk-'"
        )
    return general.master_key


def _database_url(general: GeneralSettings, lookup: Mapping[str, str], locator: Locator) -> str:
    for name in ("STARGATE_DATABASE_URL", "DATABASE_URL"):
        url = _env_text(lookup, name)
        if url is not None:
            try:
                return normalize_database_url(url)
            except InvalidDatabaseUrl as exc:
                raise ConfigError(str(exc), source=_ENV_SOURCE, path=name) from exc
    try:
        return normalize_database_url(general.database_url or DEFAULT_DATABASE_URL)
    except InvalidDatabaseUrl as exc:
        raise locator.error(("general_settings", "database_url"), str(exc)) from exc


def _lease(lookup: Mapping[str, str], configured: int | None, locator: Locator) -> int:
    """``STARGATE_RESERVATION_LEASE_SECONDS`` wins over ``general_settings``; 900 s by default."""
    text = _env_text(lookup, "STARGATE_RESERVATION_LEASE_SECONDS")
    if text is None:
        return configured or 900
    if not text.isdigit() or not 1 <= int(text) <= 86_400:
        raise locator.error(
            ("general_settings", "reservation_lease_seconds"),
            f"STARGATE_RESERVATION_LEASE_SECONDS={text!r} is not a number of seconds (1-86400)",
        )
    return int(text)


def _budget_timezone(
    general: GeneralSettings, litellm_settings: LiteLLMSettings, locator: Locator
) -> str:
    """``general_settings.budget_timezone``, else LiteLLM's ``litellm_settings.timezone``, else
    UTC; an unknown zone is refused now rather than at the first request."""
    for loc, name in (
        (("general_settings", "budget_timezone"), general.budget_timezone),
        (("litellm_settings", "timezone"), litellm_settings.timezone),
    ):
        if name is None:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise locator.error(
                loc, f"{name!r} is not an IANA timezone (Europe/Berlin, UTC)"
            ) from exc
        return name
    return DEFAULT_BUDGET_TIMEZONE
