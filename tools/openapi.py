"""Export the API's OpenAPI document from the code: ``python -m tools.openapi``.

Each function has its own resolver; Powertools' OpenAPIMerge joins their schemas.
``openapi.json`` in the repo is this output, and a test keeps the two equal.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "openapi.json"
TITLE = "Keyfob"
VERSION = "0.1.0"
DESCRIPTION = (
    "Connected accounts for applications and AI agents: OAuth 2.0 and API key connections "
    "to third-party services, with every secret encrypted by KMS."
)


def _resolver(app_file: Path) -> Any:
    """The function's resolver; every handler module is app.py, so each gets its own name."""
    spec = importlib.util.spec_from_file_location(f"_openapi_{app_file.parent.name}", app_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "app", None)


def build() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    # Declared here, not in the functions: the OpenAPI models cost ~30 ms of cold start.
    security_schemes: dict[str, Any] = {"apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)}
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes=security_schemes,
        on_conflict="error",
    )
    for app_file in sorted((ROOT / "functions").glob("*/app.py")):
        resolver = _resolver(app_file)
        if resolver is None:  # the authorizer serves no route
            continue
        resolver.configure_openapi(title=TITLE, version=VERSION, security_schemes=security_schemes)
        merge.add_schema(json.loads(resolver.get_openapi_json_schema()))
    schema: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    return schema


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if openapi.json is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if DOCUMENT.read_text() != text:
            raise SystemExit("openapi.json is stale: run python -m tools.openapi")
        return
    DOCUMENT.write_text(text)
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
