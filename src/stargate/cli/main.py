"""The ``stargate`` command."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from stargate.cli import connection
from stargate.cli.admin_commands import register
from stargate.cli.errors import EXIT_CODES_HELP
from stargate.errors import ConfigError

__all__ = ["app", "main"]

app = typer.Typer(
    name="stargate",
    help="Stargate: an LLM gateway in front of AWS Bedrock.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Work with configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.callback()
def connect(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Admin API URL for the admin commands (default: $STARGATE_ADMIN_URL, "
            "$LITELLM_URL, ./.env, else http://127.0.0.1:4001).",
        ),
    ] = None,
    master_key: Annotated[
        str | None,
        typer.Option(
            "--master-key",
            help="Master key (default: $STARGATE_MASTER_KEY, $LITELLM_MASTER_KEY, ./.env).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Stargate: an LLM gateway in front of AWS Bedrock."""
    connection.options.url = url
    connection.options.master_key = master_key


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="LiteLLM-compatible config.yaml (default: $STARGATE_CONFIG, else built-in).",
    ),
]


def _load(path: Path | None) -> object:
    from stargate.config.loader import load_config
    from stargate.settings import Settings

    try:
        if path is None:
            path = Settings.from_env(os.environ).config_path
        return load_config(path, os.environ)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err


def _configure_logging(config: object) -> None:
    """JSON (or text) lines on stderr at STARGATE_LOG_LEVEL, scrubbed of the config's secrets."""
    from stargate.config.loader import GatewayConfig
    from stargate.settings import Settings
    from stargate.telemetry.logging import configure_logging, secret_values

    assert isinstance(config, GatewayConfig)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    configure_logging(settings, secrets=secret_values(config, os.environ))


def _run(coro: object) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(coro)  # type: ignore[arg-type]
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(coro)  # type: ignore[arg-type]


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Public listener host.")] = None,
    port: Annotated[int | None, typer.Option(help="Public listener port.")] = None,
    admin_host: Annotated[str | None, typer.Option(help="Admin listener host.")] = None,
    admin_port: Annotated[int | None, typer.Option(help="Admin listener port.")] = None,
    workers: Annotated[
        int,
        typer.Option(
            envvar="STARGATE_WORKERS",
            help="Worker processes (0: one per core). More than one needs Redis and PostgreSQL.",
        ),
    ] = 1,
) -> None:
    """Run the gateway: the public API and the internal admin API."""
    import dataclasses
    import gc
    import tempfile

    # No collections while starting (serve_gateway turns them back on): they only slow it down.
    gc.disable()

    metrics_dir = None
    if workers != 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before anything imports prometheus_client: it picks its value store at import.
        metrics_dir = tempfile.TemporaryDirectory(prefix="stargate-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir.name

    from stargate.api.server import serve_gateway
    from stargate.config.loader import GatewayConfig

    loaded = _load(config)
    assert isinstance(loaded, GatewayConfig)
    _configure_logging(loaded)
    overrides = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "admin_host": admin_host,
            "admin_port": admin_port,
        }.items()
        if v is not None
    }
    cfg = dataclasses.replace(loaded, **overrides)  # type: ignore[arg-type]
    if not cfg.master_key:
        typer.echo(
            "error: no master key. Set STARGATE_MASTER_KEY (or general_settings.master_key); "
            "it must start with 'sk-'.",
            err=True,
        )
        raise typer.Exit(2)

    def ready(detail: object) -> None:
        typer.echo(
            f"stargate ready: public http://{cfg.host}:{cfg.port}  "
            f"admin http://{cfg.admin_host}:{cfg.admin_port}"
            + (f"  ({detail})" if isinstance(detail, str) else ""),
            err=True,
        )

    if workers == 1:
        _run(serve_gateway(cfg, on_ready=ready))
        return
    from stargate.api.workers import WorkerError, check_workers, default_workers, supervise

    count = workers or default_workers()
    try:
        check_workers(cfg, count)
        if count == 1:
            _run(serve_gateway(cfg, on_ready=ready))
            return
        gc.enable()  # the supervisor: each worker starts on its own
        status = supervise(
            cfg, count, lambda c, sockets: _run(serve_gateway(c, sockets=sockets)), on_ready=ready
        )
    except WorkerError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    finally:
        if metrics_dir is not None:
            metrics_dir.cleanup()
    raise typer.Exit(status)


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Listen host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Listen port.")] = 4566,
    access_key_id: Annotated[
        str | None, typer.Option(help="Accepted key id (default: $AWS_ACCESS_KEY_ID).")
    ] = None,
    secret_access_key: Annotated[
        str | None, typer.Option(help="Its secret (default: $AWS_SECRET_ACCESS_KEY).")
    ] = None,
    bearer_token: Annotated[
        str | None, typer.Option(help="Also accept this Bedrock API key as a bearer token.")
    ] = None,
    fast: Annotated[
        bool, typer.Option(help="Benchmark mode: fixed padding, no per-request logging.")
    ] = False,
) -> None:
    """Run the local Bedrock emulator (SigV4-verifying, wire-faithful)."""
    from stargate.emulator import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, EmulatorConfig, run

    key_id = access_key_id or os.environ.get("AWS_ACCESS_KEY_ID") or TEST_ACCESS_KEY_ID
    secret = secret_access_key or os.environ.get("AWS_SECRET_ACCESS_KEY") or TEST_SECRET_ACCESS_KEY
    typer.echo(f"bedrock emulator on http://{host}:{port} (access key id {key_id})", err=True)
    run(
        EmulatorConfig(
            access_key_id=key_id,
            secret_access_key=secret,
            bearer_token=bearer_token or os.environ.get("AWS_BEARER_TOKEN_BEDROCK"),
            fast=fast,
        ),
        host,
        port,
    )


@app.command()
def migrate(config: ConfigOption = None) -> None:
    """Apply database migrations (also done at start-up)."""
    from stargate.config.loader import GatewayConfig
    from stargate.store.migrate import upgrade

    loaded = _load(config)
    assert isinstance(loaded, GatewayConfig)
    upgrade(loaded.database_url)
    typer.echo("database is up to date", err=True)


@config_app.command("check")
def config_check(path: Annotated[Path, typer.Argument(help="The config.yaml to check.")]) -> None:
    """Validate a config file without starting anything."""
    from stargate.config.loader import GatewayConfig, check_config

    try:
        loaded = check_config(path, os.environ)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    assert isinstance(loaded, GatewayConfig)
    for warning in loaded.warnings:
        typer.echo(f"warning: {warning}", err=True)
    names = sorted({d.model_name for d in loaded.deployments})
    typer.echo(f"{path}: ok, {len(loaded.deployments)} deployments ({', '.join(names)})")


register(app)


def main() -> None:
    sys.exit(app())
