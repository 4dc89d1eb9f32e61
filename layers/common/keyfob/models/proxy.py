"""The proxy in the API: a request to an app's API, and its answer as relayed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from keyfob.models.types import Model

HeaderName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
HeaderValue = Annotated[str, StringConstraints(max_length=8192)]
# An HTTP token (RFC 9110) and printable ASCII: checked by the proxy, which says which.
HEADER_NAME_PATTERN = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"
HEADER_VALUE_PATTERN = r"^[\t\x20-\x7e]*$"
QueryName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
QueryValue = Annotated[str, StringConstraints(max_length=8192)]


# What the proxy takes as a path, in the document's terms: one leading /, RFC 3986
# characters, valid percent-encoding, nothing encoded twice (%25) or a control character,
# and no . or .. segment however spelled. The proxy's own check (which says which rule
# failed) and this pattern accept the same paths; a unit test holds them to it.
_SEPARATOR = r"(?:/|%2[fF]|%5[cC])"
_DOT = r"(?:\.|%2[eE])"
PROXY_PATH_PATTERN = (
    rf"^(?!.*{_SEPARATOR}{_DOT}{{1,2}}(?:{_SEPARATOR}|$))"
    r"/(?!/)(?:[A-Za-z0-9\-._~!$&'()*+,;=:/]|%(?!25|[01][0-9A-Fa-f]|7[fF])[0-9A-Fa-f]{2})*$"
)


class ProxyRequest(Model):
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    path: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="Relative to the app's API base URL, starting with /: percent-encoded, "
        "without query, fragment, `@`, backslashes or dot segments.",
        # Checked by the proxy, which names the rule a path breaks (422).
        json_schema_extra={"pattern": PROXY_PATH_PATTERN},
    )
    query: Annotated[
        dict[QueryName, QueryValue | Annotated[list[QueryValue], Field(max_length=100)]],
        Field(max_length=100),
    ] = Field(default_factory=dict, description="Query parameters; a list repeats the name.")
    headers: Annotated[
        dict[HeaderName, HeaderValue],
        Field(
            max_length=50,
            json_schema_extra={
                "patternProperties": {
                    HEADER_NAME_PATTERN: {
                        "type": "string",
                        "maxLength": 8192,
                        "pattern": HEADER_VALUE_PATTERN,
                    }
                },
                "additionalProperties": False,
            },
        ),
    ] = Field(
        default_factory=dict,
        description="Request headers. Never forwarded: authorization, x-api-key, cookie, "
        "host, proxy and hop-by-hop headers, and the header the credential goes in.",
    )
    body: Any = Field(
        default=None,
        description="A string is sent as it is (text/plain unless headers give a "
        "content-type); any other JSON value as JSON (application/json); null: no body.",
    )


class ProxyResponse(Model):
    status: int = Field(description="The upstream's HTTP status, redirects included.")
    headers: dict[str, str] = Field(
        description="The upstream's headers, names in lower case, without set-cookie and "
        "hop-by-hop headers."
    )
    body: Any = Field(description="The parsed JSON, the text, or base64; null when empty.")
    body_encoding: Literal["json", "text", "base64"]
