"""Read a SAM / CloudFormation template: YAML short-form intrinsics, an intrinsic resolver,
SAM Globals, and the parts of the template the local stack needs."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_REGION",
    "NO_VALUE",
    "AuthorizerSpec",
    "EventRuleSpec",
    "FunctionSpec",
    "HttpApiSpec",
    "IntrinsicResolver",
    "LayerSpec",
    "ResourceSpec",
    "RouteSpec",
    "Template",
    "TemplateError",
    "find_references",
    "load_template",
    "pseudo_parameters",
]

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
IMPLICIT_HTTP_API = "ServerlessHttpApi"


class TemplateError(Exception):
    """The template uses something the local stack cannot understand or resolve."""


class _NoValue:
    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()
"""What ``Ref: AWS::NoValue`` resolves to; removed from the enclosing dict or list."""


# --------------------------------------------------------------------------- YAML loading


class CfnLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
    """SafeLoader that understands CloudFormation short-form intrinsics (``!Ref``, ``!Sub``...)
    and keeps unquoted dates as strings (``2010-09-09``)."""


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(source: str | Path) -> dict[str, Any]:
    """Parse a template file (YAML or JSON) into plain Python data, intrinsics in long form."""
    text = Path(source).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: not a CloudFormation template")
    return data


# --------------------------------------------------------------------------- intrinsics


def pseudo_parameters(
    region: str = DEFAULT_REGION, account_id: str = ACCOUNT_ID, stack_name: str = "keyfob-local"
) -> dict[str, Any]:
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    if region.startswith("us-gov-"):
        partition = "aws-us-gov"
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": (
            f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/"
            "00000000-0000-0000-0000-000000000000"
        ),
        "AWS::Partition": partition,
        "AWS::URLSuffix": suffix,
        "AWS::NotificationARNs": [],
        "AWS::NoValue": NO_VALUE,
    }


_SUB_PATTERN = re.compile(r"\$\{([^}]*)\}")


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key in ("Ref", "Condition") or key.startswith("Fn::"))


def _cfn_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"expected a string, got {value!r}")
    return str(value)


class IntrinsicResolver:
    """Resolve CloudFormation intrinsic functions.

    ``physical`` maps logical ids to their physical values: either a plain string (what ``Ref``
    returns) or a dict with a ``"Ref"`` key and one key per ``Fn::GetAtt`` attribute, e.g.
    ``{"KeyfobKey": {"Ref": "<key id>", "Arn": "arn:aws:kms:..."}}``.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        physical: Mapping[str, Any] | None = None,
        parameters: Mapping[str, Any] | None = None,
        pseudo: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.physical: dict[str, Any] = dict(physical or {})
        self.pseudo = dict(pseudo or pseudo_parameters())
        self.parameters = self._parameter_values(parameters or {})
        self._conditions: dict[str, bool] = {}

    def _parameter_values(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, declaration in (self.template.get("Parameters") or {}).items():
            declaration = declaration or {}
            if name in overrides:
                value = overrides[name]
            elif "Default" in declaration:
                value = declaration["Default"]
            else:
                continue  # unresolvable unless referenced
            kind = str(declaration.get("Type", "String"))
            if (kind.startswith("List<") or kind == "CommaDelimitedList") and isinstance(
                value, str
            ):
                value = [item.strip() for item in value.split(",")] if value else []
            elif not isinstance(value, list):
                value = _cfn_string(value)
            values[name] = value
        for name, value in overrides.items():
            values.setdefault(name, value)
        return values

    # -- public API ----------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic in ``value``; ``AWS::NoValue`` entries are dropped."""
        if isinstance(value, dict):
            if _is_intrinsic(value):
                ((name, argument),) = value.items()
                if name == "Condition":
                    return self.condition(argument)
                return self._call(name, argument)
            resolved_dict = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    resolved_dict[key] = resolved
            return resolved_dict
        if isinstance(value, list):
            return [r for r in (self.resolve(item) for item in value) if r is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self._condition_value(conditions[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in (self.template.get("Parameters") or {}):
            raise TemplateError(f"parameter {name!r} has no Default and no value was given")
        if name in self.physical:
            value = self.physical[name]
            if isinstance(value, Mapping):
                if "Ref" not in value:
                    raise TemplateError(f"no Ref value known for resource {name!r}")
                return value["Ref"]
            return value
        raise TemplateError(f"Ref to unknown or unprovisioned resource {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        value = self.physical.get(logical_id)
        if isinstance(value, Mapping) and attribute in value:
            return value[attribute]
        if value is None:
            raise TemplateError(f"Fn::GetAtt on unknown or unprovisioned resource {logical_id!r}")
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not known locally")

    # -- internals -------------------------------------------------------------------------

    def _condition_value(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(value["Condition"])
        return self.resolve(value)

    def _call(self, name: str, arg: Any) -> Any:
        if name == "Ref":
            return self.ref(self.resolve(arg))
        handler = getattr(self, "_fn_" + name[4:].lower(), None)
        if handler is None:
            raise TemplateError(f"intrinsic function {name} is not supported locally")
        return handler(arg)

    def _fn_getatt(self, arg: Any) -> Any:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            logical_id, attribute = self.resolve(arg[0]), self.resolve(arg[1])
        return self.get_att(logical_id, attribute)

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], self.resolve(arg[1] if len(arg) > 1 else {})
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub expects a string, got {text!r}")

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            expression = expression.strip()
            if expression in variables:
                return _cfn_string(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, _, attribute = expression.partition(".")
                return _cfn_string(self.get_att(logical_id, attribute))
            return _cfn_string(self.ref(expression))

        return _SUB_PATTERN.sub(replace, text)

    def _fn_join(self, arg: Any) -> str:
        delimiter, items = self.resolve(arg[0]), self.resolve(arg[1])
        return str(delimiter).join(_cfn_string(item) for item in items)

    def _fn_select(self, arg: Any) -> Any:
        index, items = int(self.resolve(arg[0])), self.resolve(arg[1])
        return items[index]

    def _fn_split(self, arg: Any) -> list[str]:
        delimiter, text = self.resolve(arg[0]), self.resolve(arg[1])
        return str(text).split(str(delimiter))

    def _fn_if(self, arg: Any) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _fn_equals(self, arg: Any) -> bool:
        left, right = (self.resolve(item) for item in arg)
        if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
            return bool(left == right)
        return _cfn_string(left) == _cfn_string(right)

    def _fn_not(self, arg: Any) -> bool:
        return not self._condition_value(arg[0] if isinstance(arg, list) else arg)

    def _fn_and(self, arg: Any) -> bool:
        return all(self._condition_value(item) for item in arg)

    def _fn_or(self, arg: Any) -> bool:
        return any(self._condition_value(item) for item in arg)

    def _fn_findinmap(self, arg: Any) -> Any:
        map_name, top, second = (self.resolve(item) for item in arg[:3])
        default = None
        if len(arg) > 3 and isinstance(arg[3], dict):
            default = arg[3].get("DefaultValue")
        try:
            return self.resolve(self.template["Mappings"][map_name][top][second])
        except KeyError:
            if default is not None:
                return self.resolve(default)
            raise TemplateError(f"Fn::FindInMap: {map_name}/{top}/{second} not found") from None

    def _fn_base64(self, arg: Any) -> str:
        return base64.b64encode(_cfn_string(self.resolve(arg)).encode()).decode()

    def _fn_getazs(self, arg: Any) -> list[str]:
        region = self.resolve(arg) or self.pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_tojsonstring(self, arg: Any) -> str:
        return json.dumps(self.resolve(arg), separators=(",", ":"))

    def _fn_length(self, arg: Any) -> int:
        return len(self.resolve(arg))


def find_references(value: Any) -> set[str]:
    """Logical ids (and parameter / pseudo names) referenced by ``value``."""
    found: set[str] = set()
    if isinstance(value, dict):
        if _is_intrinsic(value):
            ((name, arg),) = value.items()
            if name == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif name == "Fn::GetAtt":
                if isinstance(arg, str):
                    found.add(arg.partition(".")[0])
                elif isinstance(arg, list) and arg and isinstance(arg[0], str):
                    found.add(arg[0])
            elif name == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                local = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                if isinstance(text, str):
                    for expression in _SUB_PATTERN.findall(text):
                        if expression.startswith("!"):
                            continue
                        target = expression.strip()
                        if not target.startswith("AWS::"):
                            target = target.partition(".")[0]
                        if target not in local:
                            found.add(target)
                if isinstance(arg, list) and len(arg) > 1:
                    found |= find_references(arg[1])
                return found
        for item in value.values():
            found |= find_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= find_references(item)
    return found


# --------------------------------------------------------------------------- SAM globals


def sam_merge(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge, lists concatenate (globals first), scalars override."""
    if (
        isinstance(global_value, dict)
        and isinstance(local_value, dict)
        and not _is_intrinsic(global_value)
        and not _is_intrinsic(local_value)
    ):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = sam_merge(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ResourceSpec:
    logical_id: str
    type: str
    properties: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RouteSpec:
    """One ``HttpApi`` event of a function."""

    api_id: str
    function_id: str
    event_name: str
    method: str  # upper case, "ANY" for any
    path: str  # "/v1/apps/{app}" or "$default"
    authorizer: str | None  # None: no authorization
    payload_format_version: str = "2.0"
    timeout_in_millis: int | None = None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class ScheduleSpec:
    """One ``Schedule`` event of a function: EventBridge invoking it at a fixed rate."""

    function_id: str
    event_name: str
    expression: str  # "rate(5 minutes)" or "cron(...)"
    enabled: bool = True

    @property
    def rate_seconds(self) -> int | None:
        """The period of a rate() expression; None for cron(), which is not emulated."""
        match = _RATE.match(self.expression.strip())
        if not match:
            return None
        return int(match.group(1)) * _RATE_UNITS[match.group(2).rstrip("s")]


_RATE = re.compile(r"^rate\((\d+)\s+(minutes?|hours?|days?)\)$")


@dataclass(frozen=True)
class EventRuleSpec:
    """One ``EventBridgeRule`` event of a function: a rule on a bus invoking it."""

    function_id: str
    event_name: str
    bus: str  # the bus's name ("default" when the event names none)
    pattern: dict[str, Any]


_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    api_id: str
    function_id: str | None  # None for JWT authorizers
    kind: str  # "lambda" or "jwt"
    identity_headers: tuple[str, ...] = ()
    identity_query_strings: tuple[str, ...] = ()
    identity_context: tuple[str, ...] = ()
    identity_stage_variables: tuple[str, ...] = ()
    reauthorize_every: int = 0
    enable_simple_responses: bool = False
    payload_format_version: str = "2.0"

    @property
    def has_identity_sources(self) -> bool:
        return bool(
            self.identity_headers
            or self.identity_query_strings
            or self.identity_context
            or self.identity_stage_variables
        )


@dataclass(frozen=True)
class HttpApiSpec:
    logical_id: str
    default_authorizer: str | None
    authorizers: dict[str, AuthorizerSpec]
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LayerSpec:
    logical_id: str
    content_dir: Path
    build_method: str | None

    @property
    def python_path(self) -> Path:
        """Where the layer's packages are importable from (``/opt/python`` in Lambda)."""
        if self.build_method and self.build_method.startswith("python"):
            return self.content_dir  # sam build copies the source into python/
        python = self.content_dir / "python"
        return python if python.is_dir() else self.content_dir


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    runtime: str | None
    timeout: int
    memory_size: int
    environment: dict[str, Any]  # Environment.Variables, intrinsics unresolved
    layers: tuple[Any, ...]
    function_name: Any  # FunctionName property (maybe an intrinsic) or None
    architectures: tuple[str, ...]
    properties: dict[str, Any]

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]


# --------------------------------------------------------------------------- template


class Template:
    """A loaded SAM template and the pieces the local stack needs from it."""

    def __init__(
        self,
        data: dict[str, Any],
        path: str | Path | None = None,
        parameters: Mapping[str, Any] | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = ACCOUNT_ID,
        stack_name: str = "keyfob-local",
    ) -> None:
        self.data = data
        self.path = Path(path).resolve() if path else None
        self.base_dir = self.path.parent if self.path else Path.cwd()
        self.parameter_overrides = dict(parameters or {})
        self.region = region
        self.account_id = account_id
        self.stack_name = stack_name

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Template:
        return cls(load_template(path), path=path, **kwargs)

    # -- resolution ------------------------------------------------------------------------

    def resolver(
        self,
        physical: Mapping[str, Any] | None = None,
        *,
        region: str | None = None,
        account_id: str | None = None,
        stack_name: str | None = None,
    ) -> IntrinsicResolver:
        pseudo = pseudo_parameters(
            region or self.region, account_id or self.account_id, stack_name or self.stack_name
        )
        return IntrinsicResolver(self.data, physical, self.parameter_overrides, pseudo)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("Resources") or {})

    @property
    def globals(self) -> dict[str, Any]:
        return dict(self.data.get("Globals") or {})

    def _included(self, resource: Mapping[str, Any]) -> bool:
        condition = resource.get("Condition")
        return True if condition is None else self.resolver().condition(condition)

    def iter_resources(self, *types: str) -> Iterator[ResourceSpec]:
        """Resources of the given types (all if none), skipping those whose Condition is
        false."""
        for logical_id, resource in self.resources.items():
            resource = resource or {}
            kind = resource.get("Type", "")
            if types and kind not in types:
                continue
            if not self._included(resource):
                continue
            yield ResourceSpec(
                logical_id,
                kind,
                dict(resource.get("Properties") or {}),
                dict(resource.get("Metadata") or {}),
            )

    def tables(self) -> list[ResourceSpec]:
        return list(self.iter_resources("AWS::DynamoDB::Table"))

    def kms_keys(self) -> list[ResourceSpec]:
        return list(self.iter_resources("AWS::KMS::Key"))

    def kms_aliases(self) -> list[ResourceSpec]:
        return list(self.iter_resources("AWS::KMS::Alias"))

    def queues(self) -> list[ResourceSpec]:
        return list(self.iter_resources("AWS::SQS::Queue"))

    def event_buses(self) -> list[ResourceSpec]:
        return list(self.iter_resources("AWS::Events::EventBus"))

    # -- functions -------------------------------------------------------------------------

    def _function_properties(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        return dict(sam_merge(self.globals.get("Function") or {}, dict(properties)))

    def functions(self) -> dict[str, FunctionSpec]:
        specs: dict[str, FunctionSpec] = {}
        resolver = self.resolver()
        for resource in self.iter_resources("AWS::Serverless::Function"):
            props = self._function_properties(resource.properties)
            if props.get("PackageType") == "Image" or "ImageUri" in props:
                raise TemplateError(f"{resource.logical_id}: image functions are not supported")
            code_uri = resolver.resolve(props.get("CodeUri", "."))
            if not isinstance(code_uri, str) or code_uri.startswith("s3://"):
                raise TemplateError(f"{resource.logical_id}: CodeUri must be a local directory")
            handler = resolver.resolve(props.get("Handler"))
            if not isinstance(handler, str) or "." not in handler:
                raise TemplateError(f"{resource.logical_id}: Handler must be 'module.function'")
            environment = (props.get("Environment") or {}).get("Variables") or {}
            specs[resource.logical_id] = FunctionSpec(
                logical_id=resource.logical_id,
                code_dir=(self.base_dir / code_uri).resolve(),
                handler=handler,
                runtime=resolver.resolve(props.get("Runtime")),
                timeout=int(resolver.resolve(props.get("Timeout", 3))),
                memory_size=int(resolver.resolve(props.get("MemorySize", 128))),
                environment=dict(environment),
                layers=tuple(props.get("Layers") or ()),
                function_name=props.get("FunctionName"),
                architectures=tuple(resolver.resolve(props.get("Architectures") or ["x86_64"])),
                properties=props,
            )
        return specs

    def layers(self) -> dict[str, LayerSpec]:
        """Local ``AWS::Serverless::LayerVersion`` resources."""
        layers: dict[str, LayerSpec] = {}
        resolver = self.resolver()
        for resource in self.iter_resources("AWS::Serverless::LayerVersion"):
            content = resolver.resolve(resource.properties.get("ContentUri"))
            if not isinstance(content, str) or content.startswith("s3://"):
                continue
            build_method = (resource.metadata or {}).get("BuildMethod")
            layers[resource.logical_id] = LayerSpec(
                resource.logical_id, (self.base_dir / content).resolve(), build_method
            )
        return layers

    def layer_paths(self) -> list[Path]:
        """sys.path entries for the local layers the functions use (each once, in order)."""
        local = self.layers()
        paths: list[Path] = []
        for function in self.functions().values():
            for layer in function.layers:
                for referenced in find_references(layer):
                    spec = local.get(referenced)
                    if spec is not None and spec.python_path not in paths:
                        paths.append(spec.python_path)
        return paths

    def _function_events(self, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(function id, event name, properties) of each function event of one Type."""
        for function in self.functions().values():
            for event_name, event in (function.properties.get("Events") or {}).items():
                if (event or {}).get("Type") == kind:
                    yield function.logical_id, event_name, dict(event.get("Properties") or {})

    def schedules(self) -> list[ScheduleSpec]:
        """The functions' ``Schedule`` events (EventBridge rules with a schedule)."""
        resolver = self.resolver()
        return [
            ScheduleSpec(
                function_id=function_id,
                event_name=event_name,
                expression=str(resolver.resolve(props.get("Schedule", ""))),
                enabled=bool(resolver.resolve(props.get("Enabled", True))),
            )
            for function_id, event_name, props in self._function_events("Schedule")
        ]

    def event_rules(self, physical: Mapping[str, Any] | None = None) -> list[EventRuleSpec]:
        """The functions' ``EventBridgeRule`` events; ``physical`` resolves the bus."""
        resolver = self.resolver(physical)
        return [
            EventRuleSpec(
                function_id=function_id,
                event_name=event_name,
                bus=str(resolver.resolve(props.get("EventBusName", "default"))),
                pattern=dict(resolver.resolve(props.get("Pattern") or {})),
            )
            for function_id, event_name, props in self._function_events("EventBridgeRule")
        ]

    # -- HTTP APIs -------------------------------------------------------------------------

    def http_apis(self) -> dict[str, HttpApiSpec]:
        apis: dict[str, HttpApiSpec] = {}
        global_api = self.globals.get("HttpApi") or {}
        for resource in self.iter_resources("AWS::Serverless::HttpApi"):
            props = dict(sam_merge(global_api, resource.properties))
            apis[resource.logical_id] = self._http_api(resource.logical_id, props)
        uses_implicit = any(
            "ApiId" not in (event.get("Properties") or {})
            for function in self.functions().values()
            for event in (function.properties.get("Events") or {}).values()
            if (event or {}).get("Type") == "HttpApi"
        )
        if uses_implicit and IMPLICIT_HTTP_API not in apis:
            apis[IMPLICIT_HTTP_API] = self._http_api(IMPLICIT_HTTP_API, dict(global_api))
        return apis

    def _http_api(self, logical_id: str, props: Mapping[str, Any]) -> HttpApiSpec:
        resolver = self.resolver()
        auth = props.get("Auth") or {}
        authorizers: dict[str, AuthorizerSpec] = {}
        for name, config in (auth.get("Authorizers") or {}).items():
            config = config or {}
            if "JwtConfiguration" in config:
                authorizers[name] = AuthorizerSpec(name, logical_id, None, "jwt")
                continue
            functions = {
                r.logical_id
                for r in self.iter_resources("AWS::Serverless::Function", "AWS::Lambda::Function")
            }
            targets = find_references(config.get("FunctionArn")) & functions
            function_id = next(iter(sorted(targets)), None)
            if function_id is None:
                raise TemplateError(f"authorizer {name}: FunctionArn must reference a function")
            identity = resolver.resolve(config.get("Identity") or {})
            authorizers[name] = AuthorizerSpec(
                name=name,
                api_id=logical_id,
                function_id=function_id,
                kind="lambda",
                identity_headers=tuple(identity.get("Headers") or ()),
                identity_query_strings=tuple(identity.get("QueryStrings") or ()),
                identity_context=tuple(identity.get("Context") or ()),
                identity_stage_variables=tuple(identity.get("StageVariables") or ()),
                reauthorize_every=int(identity.get("ReauthorizeEvery", 0) or 0),
                enable_simple_responses=bool(
                    resolver.resolve(config.get("EnableSimpleResponses", False))
                ),
                payload_format_version=str(
                    resolver.resolve(config.get("AuthorizerPayloadFormatVersion", "2.0"))
                ),
            )
        default = resolver.resolve(auth.get("DefaultAuthorizer"))
        return HttpApiSpec(logical_id, default, authorizers, dict(props))

    def routes(self) -> list[RouteSpec]:
        apis = self.http_apis()
        resolver = self.resolver()
        routes: list[RouteSpec] = []
        for function in self.functions().values():
            for event_name, event in (function.properties.get("Events") or {}).items():
                event = event or {}
                if event.get("Type") != "HttpApi":
                    continue
                props = event.get("Properties") or {}
                api_refs = find_references(props["ApiId"]) if "ApiId" in props else set()
                api_id = next(iter(sorted(api_refs & set(apis))), IMPLICIT_HTTP_API)
                api = apis.get(api_id)
                if api is None:
                    raise TemplateError(f"{function.logical_id}.{event_name}: unknown ApiId")
                path = resolver.resolve(props.get("Path", "$default"))
                method = str(resolver.resolve(props.get("Method", "ANY"))).upper()
                if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
                    method = "ANY"
                auth = props.get("Auth") or {}
                authorizer = resolver.resolve(auth.get("Authorizer", api.default_authorizer))
                if authorizer == "NONE":
                    authorizer = None
                if authorizer is not None and authorizer not in api.authorizers:
                    raise TemplateError(
                        f"{function.logical_id}.{event_name}: unknown authorizer {authorizer!r}"
                    )
                timeout = props.get("TimeoutInMillis")
                routes.append(
                    RouteSpec(
                        api_id=api_id,
                        function_id=function.logical_id,
                        event_name=event_name,
                        method=method,
                        path=str(path),
                        authorizer=authorizer,
                        payload_format_version=str(
                            resolver.resolve(props.get("PayloadFormatVersion", "2.0"))
                        ),
                        timeout_in_millis=int(resolver.resolve(timeout)) if timeout else None,
                    )
                )
        return routes
