"""``stargate models add|list|delete|test`` over ``/model/*``, ``/health`` and a one-line chat
completion."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stargate.cli.common import JsonOpt, admin_client, handled
from stargate.cli.errors import ApiError, InputError

if TYPE_CHECKING:
    from stargate.cli.client import AdminClient

__all__ = ["app", "parse_assignments"]

app = typer.Typer(help="Models: the deployments behind each model name.", no_args_is_help=True)


def parse_assignments(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``name=value`` pairs; a value that is JSON (a number, true, a list) is read as JSON."""
    found: dict[str, Any] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InputError(f"{option}: expected name=value, got {pair!r}")
        try:
            found[name.strip()] = json.loads(value)
        except ValueError:
            found[name.strip()] = value
    return found


@app.command("add")
@handled
def add(
    name: Annotated[str, typer.Argument(help="The model name clients ask for.")],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="The deployment, e.g. bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0.",
        ),
    ],
    region: Annotated[
        str | None, typer.Option("--region", help="aws_region_name, e.g. us-east-1.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Another litellm_params entry, name=value; repeatable."),
    ] = None,
    info: Annotated[
        list[str] | None,
        typer.Option("--info", help="A model_info entry (id=..., prices), name=value; repeatable."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a deployment at runtime (stored in the database; every replica picks it up)."""
    from stargate.cli.output import echo_json, say

    params = {"model": model, **parse_assignments(param, "--param")}
    if region is not None:
        params["aws_region_name"] = region
    body: dict[str, Any] = {"model_name": name, "litellm_params": params}
    model_info = parse_assignments(info, "--info")
    if model_info:
        body["model_info"] = model_info
    with admin_client() as client:
        made = client.post("/model/new", body)
    if as_json:
        echo_json(made)
        return
    say(f"added {name} (id {made.get('model_id')})")


@app.command("list")
@handled
def list_models(as_json: JsonOpt = False) -> None:
    """Every deployment: from the config file and added at runtime."""
    from stargate.cli.output import echo_json, print_table

    with admin_client() as client:
        data = client.get("/model/info").get("data", [])
    if as_json:
        echo_json(data)
        return
    print_table(
        f"{len(data)} deployments",
        ["model_name", "deployment", "region", "id", "source"],
        [
            [
                d.get("model_name"),
                d.get("litellm_params", {}).get("model"),
                d.get("litellm_params", {}).get("aws_region_name"),
                d.get("model_info", {}).get("id"),
                "runtime" if d.get("model_info", {}).get("db_model") else "config",
            ]
            for d in data
        ],
        empty="no models",
    )


def _model_id(client: AdminClient, model: str) -> str:
    """A runtime model's id, given its id or (when only one has it) its name."""
    data = client.get("/model/info").get("data", [])
    ids = [d["model_info"]["id"] for d in data if d.get("model_info", {}).get("id") == model]
    if ids:
        return model
    named = [
        d["model_info"]["id"]
        for d in data
        if d.get("model_name") == model and d.get("model_info", {}).get("db_model")
    ]
    if len(named) == 1:
        return str(named[0])
    if len(named) > 1:
        raise InputError(f"{len(named)} runtime deployments are named {model!r}; give the id")
    raise ApiError(f"no runtime model with id or name {model!r}", status=404, param="id")


@app.command("delete")
@handled
def delete(
    model: Annotated[str, typer.Argument(help="The model's id (or name, when only one has it).")],
) -> None:
    """Delete a runtime model (config file models are changed in the file)."""
    from stargate.cli.output import say

    with admin_client() as client:
        model_id = _model_id(client, model)
        client.post("/model/delete", {"id": model_id})
    say(f"deleted model {model_id}")


@app.command("test")
@handled
def probe(
    model: Annotated[
        str | None, typer.Argument(help="A model name; without one, every deployment is checked.")
    ] = None,
    prompt: Annotated[str, typer.Option("--prompt", help="What to send.")] = "Say hello.",
    as_json: JsonOpt = False,
) -> None:
    """Send one short request to a model (or check every deployment) and show the answer."""
    from stargate.cli.output import echo_json, print_record, print_table, say

    with admin_client() as client:
        if model is None:
            health = client.get("/health")
        else:
            reply = client.post(
                "/v1/chat/completions",
                {"model": model, "max_tokens": 64,
                 "messages": [{"role": "user", "content": prompt}]},
            )  # fmt: skip
    if model is None:
        if as_json:
            echo_json(health)
        else:
            rows = [[h.get("model_name"), h.get("model_id"), "ok", ""]
                    for h in health.get("healthy_endpoints", [])]  # fmt: skip
            rows += [[h.get("model_name"), h.get("model_id"), "FAILED", h.get("error")]
                     for h in health.get("unhealthy_endpoints", [])]  # fmt: skip
            print_table("deployments", ["model_name", "id", "status", "error"], rows)
        if health.get("unhealthy_count"):
            raise typer.Exit(1)
        return
    if as_json:
        echo_json(reply)
        return
    choice = (reply.get("choices") or [{}])[0]
    usage = reply.get("usage") or {}
    print_record(
        f"{model}: ok",
        [
            ("answer", (choice.get("message") or {}).get("content")),
            ("finish", choice.get("finish_reason")),
            ("tokens", f"{usage.get('prompt_tokens')} in, {usage.get('completion_tokens')} out"),
        ],
    )
    say("the model answered")
