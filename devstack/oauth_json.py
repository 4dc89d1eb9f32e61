"""A loopback OAuth 2.0 provider whose token and revocation endpoints take only JSON
bodies, as Square's and Atlassian's token endpoints and Miro's and FreshBooks' revocation
calls do: the same Authlib server as ``OAuthServer``, its requests read through a wrapper
that puts the body's JSON object where RFC 6749 has a form. A form body gets a 400."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from flask import jsonify, request
from flask.wrappers import Request
from werkzeug.datastructures import MultiDict

from .oauth_grants import Server
from .oauth_provider import OAuthServer


def _json_object(flask_request: Request) -> dict[str, Any]:
    body = flask_request.get_json(silent=True) if flask_request.is_json else None
    return body if isinstance(body, dict) else {}


class _JsonPayload(FlaskOAuth2Payload):  # type: ignore[misc]
    """The request's parameters: its query (the authorization request's) and its JSON."""

    @property
    def data(self) -> MultiDict[str, Any]:
        query = list(self._request.args.items(multi=True))
        return MultiDict(query + list(_json_object(self._request).items()))


class JsonRequest(FlaskOAuth2Request):  # type: ignore[misc]
    """Authlib's Flask request with the JSON object in the form's place."""

    def __init__(self, flask_request: Request) -> None:
        super().__init__(flask_request)
        self.payload = _JsonPayload(flask_request)

    @property
    def form(self) -> MultiDict[str, Any]:
        return MultiDict(_json_object(self._request))


class JsonServer(Server):
    """Authlib's Flask server reading every request through ``JsonRequest``."""

    def create_oauth2_request(self, _: Any) -> JsonRequest:
        return JsonRequest(request)


class JsonOAuthServer(OAuthServer):
    """``OAuthServer`` taking token and revocation requests as JSON objects only."""

    server_class = JsonServer

    def _params(self) -> dict[str, Any]:
        return _json_object(request)

    def _token(self) -> Any:
        return self._json_only() or super()._token()

    def _revoke(self) -> Any:
        return self._json_only() or super()._revoke()

    def _json_only(self) -> Any:
        """A 400, as such providers answer, for a body that is not a JSON object."""
        if request.is_json and isinstance(request.get_json(silent=True), dict):
            return None
        with self.lock:
            self.refused_forms.append((request.path, request.mimetype))
        answer = {"error": "invalid_request", "error_description": "The body must be JSON."}
        return jsonify(answer), 400

    def reset(self) -> None:
        super().reset()
        with self.lock:
            # (path, content type) of each body refused
            self.refused_forms: list[tuple[str, str]] = []
