"""Connect links: a single-use URL to Keyfob's hosted connect page, which an app sends its
end user to when it wants Keyfob to collect the user's credentials itself.

The token in the URL is the link's only key: 256 random bits, stored as its SHA-256
hash (like the OAuth state), so the table holds nothing that opens a link. A link
works for 10 minutes and makes one account at most: the account's creation uses it
up, in the same transaction.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import TYPE_CHECKING

from keyfob.core.config import settings
from keyfob.core.errors import Lapsed, NotFound
from keyfob.core.ids import iso, iso_epoch, lookup_hash, new_id, now
from keyfob.core.observability import logger
from keyfob.models.links import ConnectLink, ConnectLinkCreate
from keyfob.models.records.accounts import LinkRecord
from keyfob.services import records, return_urls
from keyfob.store import links

if TYPE_CHECKING:
    from keyfob.models.records.integrations import IntegrationRecord

PATH = "/v1/connect"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def create(tenant_id: str, request: ConnectLinkCreate, base_url: str) -> ConnectLink:
    integration = records.integration(tenant_id, request.integration_id)
    return issue(integration, request.entity_id, request.redirect_url, base_url, request.labels)


def issue(
    integration: IntegrationRecord,
    entity_id: str,
    redirect_url: str | None,
    base_url: str,
    labels: dict[str, str] | None = None,
) -> ConnectLink:
    """A link for an integration already read. Without a redirect_url (an agent's user),
    the page says when the account is connected."""
    return_urls.check(integration, redirect_url)
    token = secrets.token_urlsafe(32)
    link = LinkRecord(
        link_hash=lookup_hash(token),
        id=new_id("cl"),
        tenant_id=integration.tenant_id,
        integration_id=integration.id,
        entity_id=entity_id,
        redirect_url=redirect_url,
        labels=labels or {},
        created_at=iso(now()),
        expires_at=int(time.time()) + settings().connect_link_ttl_seconds,
    )
    links.put(link)
    logger.info("connect link created", extra={"connect_link_id": link.id})
    return ConnectLink(
        id=link.id, url=f"{base_url}{PATH}/{token}", expires_at=iso_epoch(link.expires_at)
    )


def find(token: str) -> LinkRecord:
    """The link a token opens, if it can still make an account."""
    link = links.get(lookup_hash(token)) if _TOKEN.match(token) else None
    if link is None:
        raise NotFound("connect_link_not_found", "No such connect link")
    if link.used_at is not None:
        raise Lapsed("connect_link_used", "The connect link was used already")
    if link.expires_at <= time.time():
        raise Lapsed("connect_link_expired", "The connect link has expired")
    return link
