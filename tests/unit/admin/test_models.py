"""Runtime models: checked as a config-file entry would be, stored as sent (environment
references unresolved), listed with the config's models, never showing a credential."""

from __future__ import annotations

from typing import Any

import pytest

from stargate.admin.fields import parse_body
from stargate.admin.models import list_models
from stargate.admin.requests import (
    ModelDeleteRequest,
    ModelInfoQuery,
    NewModelRequest,
    UpdateModelRequest,
)
from stargate.admin.service import AdminService
from stargate.admin.stored_models import load_db_deployments
from stargate.errors import InvalidRequest, NotFound

from .conftest import config_model

NOVA_MICRO: dict[str, Any] = {
    "model_name": "model-cheap",
    "litellm_params": {
        "model": "bedrock/converse/us.amazon.nova-micro-v1:0",
        "aws_region_name": "us-east-1",
    },
}


async def new_model(service: AdminService, body: dict[str, Any]) -> dict[str, Any]:
    return await service.models.new(parse_body(NewModelRequest, body))


async def test_a_seed_model_is_added_and_listed_after_the_config_ones(
    service: AdminService,
) -> None:
    made = await new_model(service, NOVA_MICRO)
    assert made["model_id"] == made["model_info"]["id"]
    assert made["model_info"]["db_model"] is True
    assert made["litellm_params"] == NOVA_MICRO["litellm_params"]

    listed = await service.models.info(parse_body(ModelInfoQuery, {}))
    assert [(m["model_name"], m["model_info"]["db_model"]) for m in listed["data"]] == [
        ("claude-haiku-4-5", False),
        ("model-cheap", True),
    ]
    only = await service.models.info(
        parse_body(ModelInfoQuery, {"litellm_model_id": made["model_id"]})
    )
    assert [m["model_name"] for m in only["data"]] == ["model-cheap"]


async def test_an_invalid_entry_is_a_400_naming_the_field(service: AdminService) -> None:
    body = {"model_name": "x", "litellm_params": {"model": "openai/gpt-4o"}}
    with pytest.raises(InvalidRequest, match="provider 'openai' is not supported") as caught:
        await new_model(service, body)
    assert caught.value.param == "litellm_params.model"
    region = {
        "model_name": "x",
        "litellm_params": {**NOVA_MICRO["litellm_params"], "aws_region_name": "mars"},
    }
    with pytest.raises(InvalidRequest) as caught:
        await new_model(service, region)
    assert caught.value.param == "litellm_params.aws_region_name"
    assert await service.context.models.list() == []


async def test_environment_references_are_stored_unresolved_and_secrets_never_shown(
    service: AdminService,
) -> None:
    body = {
        "model_name": "model-cheap",
        "litellm_params": {
            "model": "bedrock/us.amazon.nova-micro-v1:0",
            "aws_region_name": "os.environ/NOVA_REGION",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": "very-secret",
        },
        "model_info": {"id": "nova", "input_cost_per_token": 0.000000035},
    }
    made = await new_model(service, body)
    assert made["litellm_params"]["aws_region_name"] == "us-east-1"
    assert "very-secret" not in repr(made)
    assert "aws_secret_access_key" not in made["litellm_params"]
    assert made["model_info"]["input_cost_per_token"] == 0.000000035
    stored = await service.context.models.get("nova")
    assert stored is not None
    assert stored.litellm_params["aws_region_name"] == "os.environ/NOVA_REGION"

    listed = await list_models([config_model()], service.context.models, {})
    broken = listed["data"][1]
    assert broken["model_info"]["error"] == (
        "litellm_params.aws_region_name: environment variable NOVA_REGION is not set"
    )
    assert "very-secret" not in repr(listed)
    deployments, problems = await load_db_deployments(service.context.models, {})
    assert deployments == []
    assert problems == [f"model nova (model-cheap): {broken['model_info']['error']}"]
    resolved, none = await load_db_deployments(service.context.models, {"NOVA_REGION": "eu-west-1"})
    assert none == []
    assert resolved[0].params["aws_region_name"] == "eu-west-1"


async def test_ids_are_unique_across_config_and_database(service: AdminService) -> None:
    await new_model(service, {**NOVA_MICRO, "model_info": {"id": "nova"}})
    for taken in ("nova", "haiku-config"):
        with pytest.raises(InvalidRequest) as caught:
            await new_model(service, {**NOVA_MICRO, "model_info": {"id": taken}})
        assert (caught.value.code, caught.value.param) == ("duplicate", "model_info.id")


async def test_update_merges_and_rechecks(service: AdminService) -> None:
    await new_model(service, {**NOVA_MICRO, "model_info": {"id": "nova", "description": "a"}})
    body = {"id": "nova", "litellm_params": {"aws_region_name": "us-west-2"}}
    updated = await service.models.update(parse_body(UpdateModelRequest, body))
    assert updated["litellm_params"]["aws_region_name"] == "us-west-2"
    assert updated["litellm_params"]["model"] == "bedrock/converse/us.amazon.nova-micro-v1:0"
    assert updated["model_info"]["description"] == "a"
    with pytest.raises(InvalidRequest):
        await service.models.update(
            parse_body(
                UpdateModelRequest,
                {"model_info": {"id": "nova"}, "litellm_params": {"model": "x/y"}},
            )
        )
    stored = await service.context.models.get("nova")
    assert stored is not None
    assert stored.litellm_params["aws_region_name"] == "us-west-2"
    assert stored.updated_at is not None
    with pytest.raises(NotFound):
        await service.models.update(parse_body(UpdateModelRequest, {"id": "nope"}))


async def test_delete_removes_database_models_only(service: AdminService) -> None:
    made = await new_model(service, NOVA_MICRO)
    deleted = await service.models.delete(parse_body(ModelDeleteRequest, {"id": made["model_id"]}))
    assert deleted["message"] == f"Model: {made['model_id']} deleted successfully"
    with pytest.raises(NotFound):
        await service.models.delete(parse_body(ModelDeleteRequest, {"id": made["model_id"]}))
    with pytest.raises(InvalidRequest, match="config file") as caught:
        await service.models.delete(parse_body(ModelDeleteRequest, {"id": "haiku-config"}))
    assert caught.value.code == "config_model"
