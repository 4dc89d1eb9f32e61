"""template.yaml as plain CloudFormation, translated offline by SAM's own translator, and
what the local stack reads from it: functions, layers, routes, authorizers, rules."""

from __future__ import annotations

import copy
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

log = logging.getLogger("devstack")

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
_CODE_BUCKET = "devstack-local-code"  # local code stands aside as s3://<this>/<index>
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
_ANY = "x-amazon-apigateway-any-method"
_NAMES = ("TableName", "Name", "AliasName", "FunctionName", "QueueName")  # name properties
# AutoPublishAlias: a version's or alias's ARN is its function's and a qualifier; locally,
# every qualifier runs the one local copy of the function's code.
_QUALIFIERS = {"AWS::Lambda::Alias": "Name", "AWS::Lambda::Version": ""}
_QUALIFIED = re.compile(r"(arn:[^:]+:lambda:[^:]*:[^:]*:function:[^:]+):[^:]+$")
NO_VALUE: Any = object()  # what Ref AWS::NoValue gives: dropped from its dict or list


class TemplateError(Exception):
    """The template uses something the local stack does not support."""


def cfn_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_template(path: str | Path) -> dict[str, Any]:
    """The SAM template as data, intrinsics in long form (SAM's own YAML reader)."""
    from samtranslator.yaml_helper import yaml_parse

    return dict(yaml_parse(Path(path).read_text(encoding="utf-8")))


def translate(sam: Mapping[str, Any], region: str) -> tuple[dict[str, Any], list[str]]:
    """SAM to CloudFormation, offline: local ``CodeUri``/``ContentUri`` values stand aside
    as s3:// placeholders (as cfn-lint does). Returns the template and the local
    locations, which the placeholders' keys (``Code.S3Key``, ``Content.S3Key``) index."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    data, local = copy.deepcopy(dict(sam)), []
    serverless = [r for r in data["Resources"].values() if r["Type"].startswith("AWS::Serverless")]
    holders = [(data.get("Globals") or {}).get("Function") or {}]
    for props in holders + [r.get("Properties") or {} for r in serverless]:
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                local.append(props[key])
                props[key] = f"s3://{_CODE_BUCKET}/{len(local) - 1}"
    # The session names the region; no managed policy is looked up: nothing leaves.
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    try:
        cfn = translator.translate(data, {}, get_managed_policy_map=dict)
    except InvalidDocumentException as error:
        raise TemplateError(f"SAM cannot translate the template: {error}") from error
    translator.metrics.publish()  # to nowhere: SAM's default publisher drops them
    return cfn, local


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory_size: int
    layer_dirs: tuple[Path, ...]  # on sys.path, like /opt/python


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer, payload format 2.0, simple responses."""

    name: str
    function_id: str
    identity: tuple[tuple[str, str], ...]  # ("header" | "querystring", name)
    ttl: int  # seconds its results are cached; 0: not cached


@dataclass(frozen=True)
class Route:
    api_id: str
    method: str  # upper case, or ANY
    path: str  # "/v1/apps/{app}" or "$default"
    function_id: str
    authorizer: Authorizer | None
    timeout_ms: int

    @property
    def key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Rule:
    """What invokes a function besides the HTTP API: an EventBridge rule (on a schedule,
    or on a bus's events), or an SQS event source mapping (``queue``)."""

    logical_id: str
    function_id: str
    schedule: str | None = None  # "rate(5 minutes)", "cron(...)"
    pattern: dict[str, Any] | None = None
    bus: str = "default"
    enabled: bool = True
    queue: str | None = None  # the queue's logical id
    batch_size: int = 10
    partial: bool = False  # ReportBatchItemFailures: the function names what failed

    @property
    def rate_seconds(self) -> int | None:
        """The period of a rate() schedule; None for cron() (not run locally)."""
        match = re.fullmatch(r"rate\((\d+)\s+(minute|hour|day)s?\)", (self.schedule or "").strip())
        units = {"minute": 60, "hour": 3600, "day": 86400}
        return int(match[1]) * units[match[2]] if match else None


class Resolver:
    """CloudFormation intrinsics, as far as the translated template uses them: Ref (pseudo
    parameters, parameters' defaults, resources), Fn::GetAtt, Fn::Sub, Fn::If, Fn::Join
    and the conditions' Fn::Equals and Fn::Not."""

    def __init__(self, stack: Stack, lookup: Callable[[str], Mapping[str, Any]]) -> None:
        self.stack, self.lookup = stack, lookup
        self.referenced: set[str] = set()  # logical ids looked up
        china = stack.region.startswith("cn-")
        self.pseudo = {"AWS::Region": stack.region, "AWS::AccountId": stack.account_id}
        self.pseudo |= {"AWS::StackName": stack.stack_name, "AWS::NoValue": NO_VALUE}
        self.pseudo |= {"AWS::Partition": "aws-cn" if china else "aws"}
        self.pseudo |= {"AWS::URLSuffix": "amazonaws.com.cn" if china else "amazonaws.com"}
        self.functions: dict[str, Callable[[Any], Any]] = {
            "Ref": self.ref,
            "Condition": self.condition,
            "Fn::GetAtt": lambda a: self.get_att(*(a.split(".", 1) if isinstance(a, str) else a)),
            "Fn::Sub": lambda a: self.sub(*a) if isinstance(a, list) else self.sub(a),
            "Fn::If": lambda a: self.resolve(a[1] if self.condition(a[0]) else a[2]),
            "Fn::Join": lambda a: str(a[0]).join(map(str, self.resolve(a[1]))),
            "Fn::Equals": lambda a: len({str(item) for item in self.resolve(a)}) == 1,
            "Fn::Not": lambda a: not self.resolve(a[0]),
        }

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        name = next(iter(value)) if len(value) == 1 else ""
        if name in self.functions:
            return self.functions[name](value[name])
        if name.startswith("Fn::"):
            raise TemplateError(f"{name} is not supported by the local stack")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        conditions = self.stack.cfn.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(conditions[name]))

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        parameter = (self.stack.cfn.get("Parameters") or {}).get(name)
        if parameter is None:
            return self.get_att(name, "Ref")
        if "Default" not in parameter:
            raise TemplateError(f"parameter {name!r} has no Default")
        value = str(parameter["Default"])
        if parameter.get("Type") == "CommaDelimitedList":
            return [item.strip() for item in value.split(",")] if value else []
        return value

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.stack.cfn["Resources"]:
            raise TemplateError(f"no resource {logical_id!r} in the template")
        self.referenced.add(logical_id)
        attributes = self.lookup(logical_id)
        if attribute not in attributes:
            raise TemplateError(f"{logical_id}.{attribute} is not known locally")
        return attributes[attribute]

    def sub(self, text: str, variables: Any = None) -> str:
        variables = self.resolve(variables or {})

        def replace(match: re.Match[str]) -> str:
            name = match[1].strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]*)\}", replace, text)


class Stack:
    """The translated template of one local stack, and the physical ids of its resources:
    those provisioned (``physical``), plausible made-up ones for the rest."""

    def __init__(
        self,
        source: str | Path | Mapping[str, Any],
        *,
        stack_name: str = "keyfob-local",
        region: str = DEFAULT_REGION,
        account_id: str = ACCOUNT_ID,
    ) -> None:
        if isinstance(source, Mapping):
            sam, self.base_dir = dict(source), Path.cwd()
        else:
            sam, self.base_dir = load_template(source), Path(source).resolve().parent
        self.stack_name, self.region, self.account_id = stack_name, region, account_id
        self.cfn, self._local = translate(sam, region)
        self.physical: dict[str, dict[str, Any]] = {}

    def resolver(self, lookup: Callable[[str], Mapping[str, Any]] | None = None) -> Resolver:
        return Resolver(self, lookup or self.attributes)

    def type_of(self, logical_id: str) -> str:
        return str(self.cfn["Resources"][logical_id]["Type"])

    def resources(self, *types: str) -> dict[str, dict[str, Any]]:
        """Properties of the resources of these types whose Condition (if any) holds."""
        condition = self.resolver().condition
        return {
            logical_id: resource.get("Properties") or {}
            for logical_id, resource in self.cfn["Resources"].items()
            if resource["Type"] in types
            and ("Condition" not in resource or condition(resource["Condition"]))
        }

    def attributes(self, logical_id: str) -> dict[str, Any]:
        """Ref and Arn of a resource: the provisioned ones, or made up from its name."""
        if logical_id in self.physical:
            return self.physical[logical_id]
        kind, props = self.type_of(logical_id), self.cfn["Resources"][logical_id].get("Properties")
        if kind in _QUALIFIERS:
            arn = f"{self.attributes(props['FunctionName']['Ref'])['Arn']}:"
            return dict.fromkeys(("Ref", "Arn"), arn + str(props.get(_QUALIFIERS[kind], "1")))
        named = [(props or {})[key] for key in _NAMES if key in (props or {})]
        name = str(self.resolver().resolve((named or [f"{self.stack_name}-{logical_id}"])[0]))
        if kind == "AWS::ApiGatewayV2::Api":
            name = hashlib.sha256(f"{self.stack_name}/{logical_id}".encode()).hexdigest()[:10]
        where = f"{kind.split('::')[1].lower()}:{self.region}:{self.account_id}"
        resource = f"function:{name}" if kind == "AWS::Lambda::Function" else name
        return {
            "Ref": name,
            "Arn": f"arn:{self.resolver().pseudo['AWS::Partition']}:{where}:{resource}",
        }

    def _local_dir(self, location: Any, owner: str) -> Path:
        if not isinstance(location, dict) or location.get("S3Bucket") != _CODE_BUCKET:
            raise TemplateError(f"{owner}: the local stack runs code from local directories only")
        return (self.base_dir / self._local[int(location["S3Key"])]).resolve()

    def functions(self) -> dict[str, Function]:
        layers = self.resources("AWS::Lambda::LayerVersion")
        functions: dict[str, Function] = {}
        for logical_id, props in self.resources("AWS::Lambda::Function").items():
            layer_dirs = []
            for layer in props.get("Layers") or []:
                if not isinstance(layer, dict) or layer.get("Ref") not in layers:
                    raise TemplateError(f"{logical_id}: layer {layer} is not in the template")
                content = self._local_dir(layers[layer["Ref"]].get("Content"), layer["Ref"])
                layer_dirs.append(content / "python" if (content / "python").is_dir() else content)
            code, name = self._local_dir(props.get("Code"), logical_id), self.attributes(logical_id)
            timeout, memory = int(props.get("Timeout", 3)), int(props.get("MemorySize", 128))
            functions[logical_id] = Function(
                logical_id, name["Ref"], code, props["Handler"], timeout, memory, tuple(layer_dirs)
            )
        return functions

    def variables(self) -> list[tuple[str, str, Any]]:
        """(function, name, unresolved value) of every function's environment variable."""
        functions = self.resources("AWS::Lambda::Function").items()
        return [
            (function_id, *variable)
            for function_id, props in functions
            for variable in ((props.get("Environment") or {}).get("Variables") or {}).items()
        ]

    @property
    def function_env(self) -> dict[str, str]:
        """Every function's environment variables, resolved, in one mapping as the functions
        share one process locally: a variable set differently keeps the first value."""
        merged: dict[str, str] = {}
        for function_id, name, value in self.variables():
            if merged.setdefault(name, text := cfn_text(self.resolver().resolve(value))) != text:
                log.warning("%s sets %s differently; keeping %r", function_id, name, merged[name])
        return merged

    def _function(self, arn: Any, where: str) -> str:
        """The function an ARN (or an integration's URI) names."""
        arn = str(self.resolver().resolve(arn))
        arn = arn.partition("/functions/")[2].removesuffix("/invocations") or arn
        arn = _QUALIFIED.sub(r"\1", arn)
        for logical_id in self.resources("AWS::Lambda::Function"):
            if self.attributes(logical_id)["Arn"] == arn:
                return logical_id
        raise TemplateError(f"{where}: the local stack invokes the template's functions only")

    def _authorizer(self, name: str, scheme: Mapping[str, Any]) -> Authorizer:
        config = scheme.get("x-amazon-apigateway-authorizer") or {}
        sources = config.get("identitySource") or []
        sources = sources.split(",") if isinstance(sources, str) else sources
        found = [re.fullmatch(r"\$request\.(header|querystring)\.(.+)", s.strip()) for s in sources]
        kind = config.get("type"), config.get("enableSimpleResponses")
        if kind != ("request", True) or str(config.get("authorizerPayloadFormatVersion")) != "2.0":
            raise TemplateError(
                f"authorizer {name}: the local stack runs Lambda REQUEST authorizers with "
                "payload format 2.0 and simple responses (EnableSimpleResponses) only"
            )
        if not all(found):
            raise TemplateError(f"authorizer {name}: identity sources {sources} not supported")
        identity = tuple((m[1], m[2].lower() if m[1] == "header" else m[2]) for m in found if m)
        ttl = config.get("authorizerResultTtlInSeconds", 0)
        return Authorizer(name, self._function(config.get("authorizerUri"), name), identity, ttl)

    def routes(self) -> list[Route]:
        """Every HTTP API route, from each API's OpenAPI body (as SAM wrote it)."""
        routes = []
        for api_id, props in self.resources("AWS::ApiGatewayV2::Api").items():
            body = props.get("Body")
            if not isinstance(body, dict):
                raise TemplateError(f"{api_id}: the local stack needs the API's definition inline")
            schemes = (body.get("components") or {}).get("securitySchemes") or {}
            authorizers = {name: self._authorizer(name, scheme) for name, scheme in schemes.items()}
            for path, operations in body.get("paths", {}).items():
                for method, operation in operations.items():
                    if method not in {*_METHODS, _ANY}:
                        continue
                    route = f"{method.upper()} {path}"
                    integration = operation.get("x-amazon-apigateway-integration") or {}
                    proxy = integration.get("type"), str(integration.get("payloadFormatVersion"))
                    security = operation.get("security", body.get("security", []))
                    names = [n for requirement in security for n in requirement if n != "NONE"]
                    if proxy != ("aws_proxy", "2.0") or not set(names) <= set(authorizers):
                        message = (
                            "Lambda proxy integrations, payload format 2.0, the API's authorizers"
                        )
                        raise TemplateError(f"{route}: the local stack runs {message} only")
                    function_id = self._function(integration.get("uri"), route)
                    authorizer = authorizers[names[0]] if names else None
                    method = "ANY" if method == _ANY else method.upper()
                    timeout = integration.get("timeoutInMillis", 30000)
                    routes.append(Route(api_id, method, path, function_id, authorizer, timeout))
        return routes

    def rules(self) -> list[Rule]:
        """The EventBridge rules whose targets are the template's functions."""
        functions = {self.attributes(f)["Arn"] for f in self.resources("AWS::Lambda::Function")}
        rules = []
        for logical_id, props in self.resources("AWS::Events::Rule").items():
            get = self.resolver().resolve(props).get
            for target in get("Targets") or []:
                if _QUALIFIED.sub(r"\1", str(target.get("Arn"))) in functions:
                    function_id = self._function(target["Arn"], logical_id)
                    details = get("ScheduleExpression"), get("EventPattern")
                    bus, enabled = get("EventBusName", "default"), get("State") != "DISABLED"
                    rules.append(Rule(logical_id, function_id, *details, bus, enabled))
        for logical_id, props in self.resources("AWS::Lambda::EventSourceMapping").items():
            source = props.get("EventSourceArn")
            queue = source.get("Fn::GetAtt", [None])[0] if isinstance(source, dict) else None
            if queue is None or self.type_of(queue) != "AWS::SQS::Queue":
                raise TemplateError(
                    f"{logical_id}: the local stack maps the template's queues only"
                )
            get = self.resolver().resolve(props).get
            function_id = self._function(
                self.attributes(props["FunctionName"]["Ref"])["Arn"], logical_id
            )
            partial = "ReportBatchItemFailures" in (get("FunctionResponseTypes") or [])
            enabled, size = get("Enabled", True) is not False, int(get("BatchSize", 10))
            rules.append(
                Rule(
                    logical_id,
                    function_id,
                    enabled=enabled,
                    queue=queue,
                    batch_size=size,
                    partial=partial,
                )
            )
        return rules
