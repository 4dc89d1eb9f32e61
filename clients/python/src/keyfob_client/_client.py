"""The Keyfob API client: one method per route, typed results."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from keyfob_client._http import Transport, items_of, segment
from keyfob_client._webhooks import WebhookMethods
from keyfob_client.errors import (
    ConfigurationError,
    ConfirmationRequiredError,
    ConnectionFailedError,
    WaitTimeoutError,
)
from keyfob_client.models import (
    Account,
    AccountEvents,
    AccountPage,
    App,
    AppParams,
    ConnectLink,
    Credentials,
    DeletedAccount,
    InitiatedAccount,
    Integration,
    IntegrationPage,
    ProxyResponse,
    Status,
)

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 30.0
# States a connection does not leave by itself: waiting longer cannot make it ACTIVE.
_DEAD_ENDS = frozenset({Status.FAILED, Status.EXPIRED, Status.INACTIVE})


def _without_none(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _follow(fetch: Callable[[str | None], tuple[Sequence[T], str | None]]) -> Iterator[T]:
    """Every item of every page. A filtered page may be short, even empty, while more
    follow: only a null cursor ends the list."""
    cursor: str | None = None
    while True:
        items, cursor = fetch(cursor)
        yield from items
        if not cursor:
            return


class Client(WebhookMethods):
    """A client for one Keyfob deployment and one tenant's API key.

    ``base_url`` and ``api_key`` default to the environment's ``KEYFOB_URL`` and
    ``KEYFOB_API_KEY``. Every request times out after ``timeout`` seconds; a 429 or 503
    answer (the server did nothing) is retried up to ``max_retries`` times, honouring
    ``Retry-After``. The key is sent over plain http to loopback only, unless
    ``allow_insecure_http``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = 2,
        allow_insecure_http: bool = False,
    ) -> None:
        base_url = base_url or os.environ.get("KEYFOB_URL")
        api_key = api_key or os.environ.get("KEYFOB_API_KEY")
        if not base_url:
            raise ConfigurationError("no Keyfob URL: pass base_url or set KEYFOB_URL")
        if not api_key:
            raise ConfigurationError("no API key: pass api_key or set KEYFOB_API_KEY")
        self._http = Transport(
            base_url,
            api_key,
            timeout=timeout,
            max_retries=max_retries,
            allow_insecure_http=allow_insecure_http,
        )

    def __repr__(self) -> str:
        return f"Client(base_url={self._http.base_url!r})"

    @property
    def base_url(self) -> str:
        return self._http.base_url

    # --- apps ----------------------------------------------------------------------

    def list_apps(self, auth_scheme: str | None = None) -> list[App]:
        """The catalog's apps, optionally only those offering ``auth_scheme``."""
        answer = self._http.request("GET", "/v1/apps", query={"auth_scheme": auth_scheme})
        return [App.from_json(item) for item in items_of(answer)]

    def get_app(self, app: str) -> App:
        return App.from_json(self._http.request("GET", f"/v1/apps/{segment(app)}"))

    def get_app_params(self, app: str, auth_scheme: str) -> AppParams:
        """What an integration (the developer) and a connection (the end user) must supply."""
        answer = self._http.request(
            "GET", f"/v1/apps/{segment(app)}/params", query={"auth_scheme": auth_scheme}
        )
        return AppParams.from_json(answer)

    # --- integrations ----------------------------------------------------------------

    def create_integration(
        self,
        app: str,
        auth_scheme: str,
        *,
        name: str | None = None,
        credentials: Mapping[str, str | Sequence[str]] | None = None,
        oauth: Mapping[str, Any] | None = None,
        api: Mapping[str, Any] | None = None,
        require_confirmation: bool | None = None,
    ) -> Integration:
        """``credentials`` are the app's integration_fields (client_id, client_secret,
        scopes); ``oauth`` overrides the catalog's OAuth settings and ``api`` its API
        settings (``base_url``, the ``identity`` call: a self-hosted instance, say).
        ``require_confirmation`` binds each OAuth connection to the session that
        completes it (see :meth:`confirm_account`)."""
        body = _without_none(
            app=app,
            auth_scheme=auth_scheme,
            name=name,
            credentials=None if credentials is None else dict(credentials),
            oauth=None if oauth is None else dict(oauth),
            api=None if api is None else dict(api),
            require_confirmation=require_confirmation,
        )
        return Integration.from_json(self._http.request("POST", "/v1/integrations", body=body))

    def list_integrations_page(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> IntegrationPage:
        answer = self._http.request(
            "GET", "/v1/integrations", query={"limit": limit, "cursor": cursor}
        )
        return IntegrationPage.from_json(answer)

    def list_integrations(self, *, page_size: int | None = None) -> Iterator[Integration]:
        """Every integration, following the cursor from page to page."""

        def fetch(cursor: str | None) -> tuple[Sequence[Integration], str | None]:
            page = self.list_integrations_page(limit=page_size, cursor=cursor)
            return page.items, page.next_cursor

        return _follow(fetch)

    def get_integration(self, integration_id: str) -> Integration:
        path = f"/v1/integrations/{segment(integration_id)}"
        return Integration.from_json(self._http.request("GET", path))

    def delete_integration(self, integration_id: str) -> None:
        """Refused (ConflictError) while the integration has connected accounts."""
        self._http.request("DELETE", f"/v1/integrations/{segment(integration_id)}")

    # --- connected accounts ------------------------------------------------------------

    def initiate_connection(
        self,
        integration_id: str,
        entity_id: str,
        *,
        params: Mapping[str, str] | None = None,
        redirect_url: str | None = None,
        labels: Mapping[str, str] | None = None,
        validate: bool | None = None,
    ) -> InitiatedAccount:
        """Start connecting ``entity_id``'s account. OAuth 2.0: send the user to the
        result's ``redirect_url``, then :meth:`wait_for_connection`. API key and the
        like: ``params`` are the app's connection_fields and the account is ACTIVE at
        once. ``validate=False`` skips checking an API key against the app (the server
        checks by default)."""
        body = _without_none(
            integration_id=integration_id,
            entity_id=entity_id,
            params=None if params is None else dict(params),
            redirect_url=redirect_url,
            labels=None if labels is None else dict(labels),
        )
        answer = self._http.request(
            "POST", "/v1/connected_accounts", query={"validate": validate}, body=body
        )
        return InitiatedAccount.from_json(answer)

    def list_accounts_page(
        self,
        *,
        entity_id: str | None = None,
        app: str | None = None,
        integration_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AccountPage:
        """One page, newest first. A filtered page may hold fewer than ``limit`` items
        while ``next_cursor`` is set."""
        query = {
            "entity_id": entity_id,
            "app": app,
            "integration_id": integration_id,
            "status": status,
            "limit": limit,
            "cursor": cursor,
        }
        answer = self._http.request("GET", "/v1/connected_accounts", query=query)
        return AccountPage.from_json(answer)

    def list_accounts(
        self,
        *,
        entity_id: str | None = None,
        app: str | None = None,
        integration_id: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
    ) -> Iterator[Account]:
        """Every matching account, newest first, following the cursor from page to page."""

        def fetch(cursor: str | None) -> tuple[Sequence[Account], str | None]:
            page = self.list_accounts_page(
                entity_id=entity_id,
                app=app,
                integration_id=integration_id,
                status=status,
                limit=page_size,
                cursor=cursor,
            )
            return page.items, page.next_cursor

        return _follow(fetch)

    def get_account(self, account_id: str) -> Account:
        return Account.from_json(self._http.request("GET", _account(account_id)))

    def get_account_events(self, account_id: str) -> AccountEvents:
        """The account's recent events, newest first, from its record: the last status
        change (with its reason), the last refresh, the creation."""
        answer = self._http.request("GET", f"{_account(account_id)}/events")
        return AccountEvents.from_json(answer)

    def get_credentials(self, account_id: str) -> Credentials:
        """The decrypted credentials of an ACTIVE account (ConflictError otherwise)."""
        path = f"{_account(account_id)}/credentials"
        return Credentials.from_json(self._http.request("GET", path))

    def refresh_account(self, account_id: str) -> Account:
        """Refresh the OAuth tokens now. A concurrent refresh answers 503
        ``refresh_in_progress``, which the client retries like any 503."""
        return self._account_action(account_id, "refresh")

    def disable_account(self, account_id: str) -> Account:
        """Make the account INACTIVE: its credentials are no longer handed out."""
        return self._account_action(account_id, "disable")

    def enable_account(self, account_id: str) -> Account:
        return self._account_action(account_id, "enable")

    def reinitiate_account(
        self, account_id: str, *, redirect_url: str | None = None
    ) -> InitiatedAccount:
        """Start the connection again for the same account (e.g. after FAILED or EXPIRED)."""
        path = f"{_account(account_id)}/reinitiate"
        answer = self._http.request("POST", path, body=_without_none(redirect_url=redirect_url))
        return InitiatedAccount.from_json(answer)

    def confirm_account(self, account_id: str, *, code: str, entity_id: str) -> Account:
        """Confirm an AWAITING_CONFIRMATION account with the code the redirect carried."""
        path = f"{_account(account_id)}/confirm"
        answer = self._http.request("POST", path, body={"code": code, "entity_id": entity_id})
        return Account.from_json(answer)

    def delete_account(self, account_id: str, *, revoke: bool = True) -> DeletedAccount:
        """Delete the account; with ``revoke`` (the default) Keyfob first revokes the grant
        at the provider. The result's ``revocation`` says how that went."""
        answer = self._http.request("DELETE", _account(account_id), query={"revoke": revoke})
        return DeletedAccount.from_json(answer)

    def wait_for_connection(
        self, account_id: str, *, timeout: float = 300.0, poll_interval: float = 2.0
    ) -> Account:
        """Poll the account until it is ACTIVE, and return it.

        Raises ConnectionFailedError if it is FAILED, EXPIRED or INACTIVE (it would never
        become ACTIVE by waiting), ConfirmationRequiredError if it is AWAITING_CONFIRMATION
        (the application must confirm it first, then may wait again), and
        WaitTimeoutError after ``timeout`` seconds. A returned account is always ACTIVE.
        """
        deadline = time.monotonic() + timeout
        while True:
            account = self.get_account(account_id)
            if account.status == Status.ACTIVE:
                return account
            if account.status == Status.AWAITING_CONFIRMATION:
                raise ConfirmationRequiredError(account)
            if account.status in _DEAD_ENDS:
                raise ConnectionFailedError(account)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(account, timeout)
            time.sleep(min(poll_interval, remaining))

    # --- acting on the entity's behalf ---------------------------------------------

    def proxy(
        self,
        account_id: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> ProxyResponse:
        """Send a request to the app's API as the account's entity: Keyfob applies the
        credential. ``path`` is relative to the app's API base URL. The result is the
        upstream's answer, whatever its status: check ``.status`` or ``.ok``."""
        request = _without_none(
            method=method.upper(),
            path=path,
            query=None if query is None else dict(query),
            headers=None if headers is None else dict(headers),
            body=body,
        )
        answer = self._http.request("POST", f"{_account(account_id)}/proxy", body=request)
        return ProxyResponse.from_json(answer)

    def create_connect_link(
        self,
        integration_id: str,
        entity_id: str,
        redirect_url: str,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> ConnectLink:
        """A single-use link to Keyfob's hosted connect page, for the end user to open."""
        body = _without_none(
            integration_id=integration_id,
            entity_id=entity_id,
            redirect_url=redirect_url,
            labels=None if labels is None else dict(labels),
        )
        return ConnectLink.from_json(self._http.request("POST", "/v1/connect_links", body=body))

    def _account_action(self, account_id: str, action: str) -> Account:
        return Account.from_json(self._http.request("POST", f"{_account(account_id)}/{action}"))


def _account(account_id: str) -> str:
    return f"/v1/connected_accounts/{segment(account_id)}"
