"""Request bodies and query parameters of the admin API, in LiteLLM's field names.

Fields a request leaves out (or sends as ``null``) are ``None``: on ``/*/update`` that means
"leave unchanged", as in LiteLLM. A few LiteLLM fields that would set a limit Stargate does not
enforce are refused when they carry a value, rather than ignored: an admin must not believe a
limit holds when it does not.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from stargate.admin.fields import (
    AdminRequest,
    BudgetDuration,
    BudgetLimitIn,
    Count,
    Expiry,
    ModelLimits,
    Parallel,
    Text,
    Usd,
)
from stargate.errors import InvalidRequest

__all__ = [
    "USER_ROLES",
    "BudgetDeleteRequest",
    "BudgetInfoRequest",
    "DeleteKeysRequest",
    "DeleteTeamsRequest",
    "DeleteUsersRequest",
    "GenerateKeyRequest",
    "KeyInfoQuery",
    "KeyListQuery",
    "KeyRef",
    "MemberAddRequest",
    "MemberDeleteRequest",
    "MemberIn",
    "MemberUpdateRequest",
    "ModelDeleteRequest",
    "ModelInfoQuery",
    "NewBudgetRequest",
    "NewModelRequest",
    "NewTeamRequest",
    "NewUserRequest",
    "PolicyFields",
    "RegenerateKeyRequest",
    "TeamInfoQuery",
    "TeamJoin",
    "TeamListQuery",
    "TierApplyRequest",
    "TierIn",
    "UpdateBudgetRequest",
    "UpdateKeyRequest",
    "UpdateModelRequest",
    "UpdateTeamRequest",
    "UpdateUserRequest",
    "UserInfoQuery",
    "UserListQuery",
]

USER_ROLES = (
    "proxy_admin",
    "proxy_admin_viewer",
    "org_admin",
    "internal_user",
    "internal_user_viewer",
    "team",
    "customer",
)
UserRole = Literal[
    "proxy_admin",
    "proxy_admin_viewer",
    "org_admin",
    "internal_user",
    "internal_user_viewer",
    "team",
    "customer",
]
MemberRole = Literal["admin", "user"]


class _Refusing(AdminRequest):
    """Refuses the LiteLLM fields named in ``unsupported`` when they carry a value."""

    unsupported: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _refuse_unsupported(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in cls.unsupported:
                if data.get(name) not in (None, {}, [], ""):
                    # Not a ValueError: pydantic would lose the field's name.
                    raise InvalidRequest(
                        f"{name} is not supported by Stargate; remove it", param=name
                    )
        return data


class PolicyFields(_Refusing):
    """The limits every scope (key, user, team, budget) can carry."""

    models: list[Text] | None = None
    max_budget: Usd | None = None
    budget_duration: BudgetDuration | None = None
    budget_limits: list[BudgetLimitIn] | None = None
    rpm_limit: Count | None = None
    tpm_limit: Count | None = None
    max_parallel_requests: Parallel | None = None
    metadata: dict[str, Any] | None = None


# --- keys --------------------------------------------------------------------------------------


class _KeyFields(PolicyFields):
    unsupported: ClassVar[tuple[str, ...]] = (
        "model_max_budget",
        "temp_budget_increase",
        "temp_budget_expiry",
        "allowed_routes",
        "enforced_params",
        "budget_id",
    )

    model_rpm_limit: ModelLimits | None = None
    model_tpm_limit: ModelLimits | None = None
    soft_budget: Usd | None = None
    duration: Expiry | None = None
    key_alias: Text | None = None
    user_id: Text | None = None
    team_id: Text | None = None
    blocked: bool | None = None


class GenerateKeyRequest(_KeyFields):
    # A key value of the caller's choosing (LiteLLM's custom keys); normally Stargate makes one.
    key: Text | None = Field(default=None, pattern=r"^sk-\S{16,}$")


class UpdateKeyRequest(_KeyFields):
    """``key`` (the key or its hash) names the key; without it, ``key_alias`` does."""

    key: Text | None = None


class RegenerateKeyRequest(_KeyFields):
    unsupported = (*_KeyFields.unsupported, "grace_period", "new_master_key")

    key: Text | None = None
    new_key: Text | None = Field(default=None, pattern=r"^sk-\S{16,}$")


class DeleteKeysRequest(AdminRequest):
    keys: list[Text] | None = None
    key_aliases: list[Text] | None = None


class KeyRef(AdminRequest):
    """``{"key": ...}`` (block, unblock): the key or its hash."""

    key: Text


class KeyInfoQuery(AdminRequest):
    key: Text | None = None


class KeyListQuery(AdminRequest):
    page: int = Field(default=1, ge=1)
    size: int = Field(default=10, ge=1, le=100)
    user_id: Text | None = None
    team_id: Text | None = None
    key_alias: Text | None = None
    key_hash: Text | None = None
    return_full_object: bool = False
    sort_by: Literal["created_at", "updated_at", "key_alias", "expires_at", "expires"] = (
        "created_at"
    )
    sort_order: Literal["asc", "desc"] = "desc"


# --- users -------------------------------------------------------------------------------------


class TeamJoin(AdminRequest):
    """An entry of ``/user/new``'s ``teams`` given as an object."""

    team_id: Text
    max_budget_in_team: Usd | None = None
    user_role: MemberRole = "user"


class NewUserRequest(PolicyFields):
    unsupported = ("model_max_budget", "organizations")

    user_id: Text | None = None
    user_email: Text | None = None
    user_alias: Text | None = None
    user_role: UserRole | None = None
    teams: list[Text | TeamJoin] | None = None
    auto_create_key: bool = True
    key_alias: Text | None = None  # for the key made by auto_create_key
    duration: Expiry | None = None  # its expiry
    blocked: bool | None = None


class UpdateUserRequest(PolicyFields):
    """``user_id`` names the user (``user_email`` then changes the email); without it,
    ``user_email`` does."""

    unsupported = ("model_max_budget",)

    user_id: Text | None = None
    user_email: Text | None = None
    user_alias: Text | None = None
    user_role: UserRole | None = None
    blocked: bool | None = None


class DeleteUsersRequest(AdminRequest):
    user_ids: list[Text] = Field(min_length=1)


class UserInfoQuery(AdminRequest):
    user_id: Text | None = None
    user_ids: list[Text] | None = None


class UserListQuery(AdminRequest):
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=25, ge=1, le=100)
    role: UserRole | None = None
    user_ids: str | None = None  # comma-separated, as LiteLLM takes it
    user_email: Text | None = None


# --- teams -------------------------------------------------------------------------------------


class MemberIn(AdminRequest):
    """A team member: ``user_id`` or ``user_email`` (an unknown one becomes a new user)."""

    user_id: Text | None = None
    user_email: Text | None = None
    role: MemberRole = "user"

    @model_validator(mode="after")
    def _named(self) -> MemberIn:
        if self.user_id is None and self.user_email is None:
            raise ValueError("a member needs user_id or user_email")
        return self


class _TeamFields(PolicyFields):
    unsupported = ("model_max_budget", "team_member_budget", "organization_id")

    team_alias: Text | None = None
    model_rpm_limit: ModelLimits | None = None
    model_tpm_limit: ModelLimits | None = None
    tier: Text | None = None
    blocked: bool | None = None


class NewTeamRequest(_TeamFields):
    team_id: Text | None = None
    members_with_roles: list[MemberIn] | None = None


class UpdateTeamRequest(_TeamFields):
    team_id: Text


class DeleteTeamsRequest(AdminRequest):
    team_ids: list[Text] = Field(min_length=1)


class TeamInfoQuery(AdminRequest):
    team_id: Text


class TeamListQuery(AdminRequest):
    user_id: Text | None = None


class MemberAddRequest(AdminRequest):
    team_id: Text
    member: MemberIn | list[MemberIn]
    max_budget_in_team: Usd | None = None
    budget_duration: BudgetDuration | None = None


class _MemberRef(AdminRequest):
    team_id: Text
    user_id: Text | None = None
    user_email: Text | None = None

    @model_validator(mode="after")
    def _named(self) -> _MemberRef:
        if self.user_id is None and self.user_email is None:
            raise ValueError("give user_id or user_email")
        return self


class MemberDeleteRequest(_MemberRef):
    pass


class MemberUpdateRequest(_MemberRef):
    role: MemberRole | None = None
    max_budget_in_team: Usd | None = None
    budget_duration: BudgetDuration | None = None


# --- budgets and tiers -------------------------------------------------------------------------


class _BudgetFields(PolicyFields):
    unsupported = ("model_max_budget",)


class NewBudgetRequest(_BudgetFields):
    budget_id: Text | None = None


class UpdateBudgetRequest(_BudgetFields):
    budget_id: Text


class BudgetInfoRequest(AdminRequest):
    budgets: list[Text] = Field(min_length=1)


class BudgetDeleteRequest(AdminRequest):
    id: Text


class TierIn(AdminRequest):
    """One tier of seed 003's ``tiers.yaml``: ``name``, ``budget_daily``, ``budget_monthly``,
    ``allowed_models`` (also read as ``daily_budget``, ``monthly_cap``, ``models``), plus the
    optional limits ``rpm_limit``, ``tpm_limit``, ``max_parallel_requests``."""

    name: Text | None = None
    budget_daily: Usd | None = None
    budget_monthly: Usd | None = None
    allowed_models: list[Text] | None = None
    rpm_limit: Count | None = None
    tpm_limit: Count | None = None
    max_parallel_requests: Parallel | None = None
    description: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for alias, name in (
            ("daily_budget", "budget_daily"),
            ("monthly_cap", "budget_monthly"),
            ("monthly_budget", "budget_monthly"),
            ("models", "allowed_models"),
        ):
            if alias in data:
                if name in data and data[name] != data[alias]:
                    raise ValueError(f"{alias} and {name} disagree; give one of the two")
                data[name] = data.pop(alias)
        return data


class TierApplyRequest(AdminRequest):
    tiers: dict[Text, TierIn] = Field(min_length=1)


# --- models ------------------------------------------------------------------------------------


class NewModelRequest(AdminRequest):
    model_name: Text
    litellm_params: dict[str, Any]
    model_info: dict[str, Any] | None = None


class UpdateModelRequest(AdminRequest):
    """``id`` (or ``model_info.id``) names a runtime model; ``litellm_params`` and
    ``model_info`` are merged key by key over the stored ones."""

    id: Text | None = None
    model_name: Text | None = None
    litellm_params: dict[str, Any] | None = None
    model_info: dict[str, Any] | None = None


class ModelDeleteRequest(AdminRequest):
    id: Text


class ModelInfoQuery(AdminRequest):
    litellm_model_id: Text | None = None
