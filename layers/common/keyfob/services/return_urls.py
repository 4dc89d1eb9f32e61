"""Where the user's browser goes once a connection is made: a redirect_url checked alike
when a connection starts, is reinitiated, or gets a connect link."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyfob.core.errors import Invalid
from keyfob.core.urls import url_problem

if TYPE_CHECKING:
    from keyfob.models.records.integrations import IntegrationRecord


def _invalid_redirect(problem: str) -> Invalid:
    return Invalid(
        "invalid_redirect_url",
        f"redirect_url {problem}",
        {"invalid": [{"field": "redirect_url", "reason": problem}]},
    )


def check(integration: IntegrationRecord, url: str | None) -> None:
    if url and (problem := url_problem(url)):
        raise _invalid_redirect(problem)
    if integration.require_confirmation and not url:
        # The confirmation code travels to the app's redirect_url: there must be one.
        raise _invalid_redirect("is required: the integration requires confirmation")
