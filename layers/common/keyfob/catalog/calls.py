"""The calls the catalog describes besides the token flows: the identity probe that
proves a credential, and a provider's own revocation call."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Probe(BaseModel):
    """An API call, made with the connection's own credential, that proves the credential
    works and, where the answer names one, which upstream account it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(
        pattern=r"^(/|https?://)[^\s]*$",
        description="Relative to the app's API base URL, or an absolute URL.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (an API version, say)."
    )
    id_field: str | None = Field(
        default=None, description="Dotted path to the upstream account id in the JSON answer."
    )
    name_field: str | None = Field(
        default=None, description="Dotted path to a display name (login, email, workspace)."
    )
    ok_field: str | None = Field(
        default=None,
        description="Dotted path that must be true: for APIs that answer HTTP 200 with "
        "an error flag (Slack's `ok`).",
    )


class Revocation(BaseModel):
    """A provider's own revocation call, for providers that do not implement RFC 7009
    (which ``revocation_url`` means)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    method: Literal["POST", "DELETE", "GET"] = "POST"
    url: str = Field(
        pattern=r"^https?://[^\s]+$",
        description="May hold {client_id}, {token} and connection field placeholders.",
    )
    token: Literal["access_token", "refresh_token"] = Field(
        default="access_token", description="Which token the call revokes."
    )
    token_in: Literal["bearer", "form", "json", "query", "path"] = Field(
        description="How the token is sent: as the bearer credential, a form, JSON or query "
        "parameter named token_param, or in the URL's {token}."
    )
    token_param: str = "token"
    client_auth: Literal["basic", "body", "client_header", "none"] = Field(
        default="none",
        description="How the integration's client authenticates: basic, HTTP Basic with "
        "its client id and secret; body, the two as parameters beside the token (FreshBooks, "
        "Miro); client_header, `Authorization: Client <client secret>` with the client id "
        "beside the token (Square).",
    )
    client_params: tuple[str, str] = Field(
        default=("client_id", "client_secret"),
        description="The names of the client id and client secret parameters, for "
        "client_auth body and client_header (Miro's are clientId and clientSecret).",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers (an API version, say)."
    )

    @model_validator(mode="after")
    def _client_in_the_body(self) -> Revocation:
        if self.client_auth in ("body", "client_header") and self.token_in not in ("form", "json"):
            raise ValueError(f"client_auth {self.client_auth} goes with token_in form or json")
        return self
