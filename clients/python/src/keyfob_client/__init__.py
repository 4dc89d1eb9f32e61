"""A small typed client for the Keyfob API, on the standard library alone.

    from keyfob_client import Client

    keyfob = Client()  # KEYFOB_URL and KEYFOB_API_KEY from the environment
    account = keyfob.initiate_connection(integration_id, "user-42", params={"api_key": key})
    for account in keyfob.list_accounts(entity_id="user-42"):
        print(account.app, account.status)

It imports nothing beyond the standard library, so that applications and agents can use
it without the server's dependencies (boto3, pydantic, Powertools, requests).
"""

from keyfob_client._client import Client
from keyfob_client.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConfirmationRequiredError,
    ConflictError,
    ConnectionFailedError,
    KeyfobClientError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
    WaitTimeoutError,
)
from keyfob_client.models import (
    Account,
    AccountEvent,
    AccountEvents,
    AccountPage,
    App,
    AppParams,
    AuthScheme,
    AuthSchemeInfo,
    ConnectLink,
    CreatedWebhook,
    Credentials,
    DeletedAccount,
    InitiatedAccount,
    Integration,
    IntegrationPage,
    ParamField,
    ProxyResponse,
    Revocation,
    RotatedSecret,
    Status,
    Webhook,
    WebhookAttempt,
)

__all__ = [
    "Account",
    "AccountEvent",
    "AccountEvents",
    "AccountPage",
    "ApiError",
    "App",
    "AppParams",
    "AuthError",
    "AuthScheme",
    "AuthSchemeInfo",
    "Client",
    "ConfigurationError",
    "ConfirmationRequiredError",
    "ConflictError",
    "ConnectLink",
    "ConnectionFailedError",
    "CreatedWebhook",
    "Credentials",
    "DeletedAccount",
    "InitiatedAccount",
    "Integration",
    "IntegrationPage",
    "KeyfobClientError",
    "NotFoundError",
    "ParamField",
    "ProxyResponse",
    "RateLimitedError",
    "Revocation",
    "RotatedSecret",
    "ServerError",
    "Status",
    "TransportError",
    "UnexpectedResponseError",
    "ValidationError",
    "WaitTimeoutError",
    "Webhook",
    "WebhookAttempt",
]
