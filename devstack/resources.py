"""Create a template's stateful resources (DynamoDB tables, KMS keys and aliases, SQS queues,
EventBridge buses) against moto, another endpoint, or real AWS, idempotently; and resolve each
function's environment against the result."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import boto3
from botocore.exceptions import ClientError

from .template import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    IntrinsicResolver,
    ResourceSpec,
    Template,
    TemplateError,
    find_references,
)

__all__ = ["Resources", "api_id_for", "provision", "resolve_environment"]

log = logging.getLogger("devstack.resources")

PROVISIONED_TYPES = (
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
)
TemplateSource: TypeAlias = Template | Mapping[str, Any] | str | Path
_TAG_STACK = "devstack:stack-name"
_TAG_LOGICAL_ID = "devstack:logical-id"


@dataclass
class Resources:
    """Physical ids of a provisioned (or placeholder) stack."""

    stack_name: str
    region: str
    account_id: str
    endpoint_url: str | None
    physical: dict[str, dict[str, Any]] = field(default_factory=dict)
    """logical id -> {"Ref": ..., <GetAtt attribute>: ...}; what the resolver sees."""
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    kms_keys: dict[str, dict[str, str]] = field(default_factory=dict)  # -> {KeyId, Arn}
    kms_aliases: dict[str, str] = field(default_factory=dict)  # -> alias name
    queues: dict[str, dict[str, str]] = field(default_factory=dict)  # -> {QueueUrl, Arn, ...}
    event_buses: dict[str, dict[str, str]] = field(default_factory=dict)  # -> {Name, Arn}
    function_envs: dict[str, dict[str, str]] = field(default_factory=dict)
    """function logical id -> its resolved Environment.Variables (Globals merged)."""

    def ref(self, logical_id: str) -> Any:
        return self.physical[logical_id]["Ref"]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self.physical[logical_id][attribute]

    @property
    def function_env(self) -> dict[str, str]:
        """Every function's variables merged into one mapping, as the functions share one
        process (and one ``os.environ``) locally. A variable that different functions set to
        different values keeps the first value, with a warning."""
        merged: dict[str, str] = {}
        for function_id, variables in self.function_envs.items():
            for name, value in variables.items():
                if name in merged and merged[name] != value:
                    log.warning(
                        "%s sets %s=%r but another function sets %r; the local stack shares one "
                        "environment, keeping the first",
                        function_id,
                        name,
                        value,
                        merged[name],
                    )
                    continue
                merged.setdefault(name, value)
        return merged


def api_id_for(stack_name: str, logical_id: str) -> str:
    """A stable, API Gateway-looking id (10 lowercase alphanumerics) for an API."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"environment variable values must be strings, got {value!r}")
    return str(value)


def resolve_environment(
    template: Template, resolver: IntrinsicResolver
) -> dict[str, dict[str, str]]:
    """Each function's Environment.Variables (Globals merged) with intrinsics resolved."""
    return {
        function_id: {
            name: _env_string(value) for name, value in resolver.resolve(spec.environment).items()
        }
        for function_id, spec in template.functions().items()
    }


def _placeholders(
    template: Template, stack_name: str, region: str, account_id: str
) -> dict[str, dict[str, Any]]:
    """Physical values for resources that are not created locally (functions, roles, APIs,
    layers, ...), plausible enough for environment variables and ARNs."""
    physical: dict[str, dict[str, Any]] = {}
    for logical_id, resource in template.resources.items():
        kind = (resource or {}).get("Type", "")
        props = (resource or {}).get("Properties") or {}
        name = f"{stack_name}-{logical_id}"
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            function_name = props.get("FunctionName")
            function_name = function_name if isinstance(function_name, str) else name
            arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
            physical[logical_id] = {"Ref": function_name, "Arn": arn}
        elif kind == "AWS::IAM::Role":
            physical[logical_id] = {
                "Ref": name,
                "Arn": f"arn:aws:iam::{account_id}:role/{name}",
                "RoleId": "AROA" + api_id_for(stack_name, logical_id).upper(),
            }
        elif kind in ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api"):
            api_id = api_id_for(stack_name, logical_id)
            physical[logical_id] = {
                "Ref": api_id,
                "ApiId": api_id,
                "ApiEndpoint": f"https://{api_id}.execute-api.{region}.amazonaws.com",
            }
        elif kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            physical[logical_id] = {
                "Ref": f"arn:aws:lambda:{region}:{account_id}:layer:{name}:1",
            }
        elif kind not in PROVISIONED_TYPES:
            physical[logical_id] = {"Ref": name}
    for function_id in template.functions():  # implicit SAM resources
        role = f"{function_id}Role"
        physical.setdefault(
            role, {"Ref": f"{stack_name}-{role}", "Arn": f"arn:aws:iam::{account_id}:role/{role}"}
        )
    return physical


def _order(specs: list[ResourceSpec]) -> list[ResourceSpec]:
    """Dependency order (a queue's dead-letter queue first, a key before its alias, ...)."""
    by_id = {spec.logical_id: spec for spec in specs}
    ordered: list[ResourceSpec] = []
    state: dict[str, int] = {}

    def visit(spec: ResourceSpec) -> None:
        if state.get(spec.logical_id) == 2:
            return
        if state.get(spec.logical_id) == 1:
            raise TemplateError(f"circular reference involving {spec.logical_id}")
        state[spec.logical_id] = 1
        for dependency in sorted(find_references(spec.properties)):
            if dependency in by_id:
                visit(by_id[dependency])
        state[spec.logical_id] = 2
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered


def _is_error(error: ClientError, *codes: str) -> bool:
    return error.response.get("Error", {}).get("Code") in codes


def _filter_to_shape(client: Any, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop the top-level arguments the API does not take (CloudFormation-only properties)."""
    members = client.meta.service_model.operation_model(operation).input_shape.members
    dropped = sorted(set(kwargs) - set(members))
    if dropped:
        log.debug("%s: ignoring %s", operation, ", ".join(dropped))
    return {key: value for key, value in kwargs.items() if key in members}


class _Provisioner:
    def __init__(
        self,
        template: Template,
        session: boto3.session.Session,
        endpoint_url: str | None,
        resources: Resources,
    ) -> None:
        self.template = template
        self.session = session
        self.endpoint_url = endpoint_url
        self.resources = resources
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            session: Any = self.session  # boto3-stubs only types literal service names
            self._clients[service] = session.client(
                service, region_name=self.resources.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def resolver(self) -> IntrinsicResolver:
        return self.template.resolver(
            self.resources.physical,
            region=self.resources.region,
            account_id=self.resources.account_id,
            stack_name=self.resources.stack_name,
        )

    def default_name(self, logical_id: str, max_length: int = 255) -> str:
        return f"{self.resources.stack_name}-{logical_id}"[:max_length]

    def run(self) -> None:
        specs = _order(list(self.template.iter_resources(*PROVISIONED_TYPES)))
        for spec in specs:
            props = self.resolver().resolve(spec.properties)
            if spec.type == "AWS::DynamoDB::Table":
                self.table(spec.logical_id, props)
            elif spec.type == "AWS::KMS::Key":
                self.kms_key(spec.logical_id, props)
            elif spec.type == "AWS::KMS::Alias":
                self.kms_alias(spec.logical_id, props)
            elif spec.type == "AWS::SQS::Queue":
                self.queue(spec.logical_id, props)
            elif spec.type == "AWS::Events::EventBus":
                self.event_bus(spec.logical_id, props)

    # -- DynamoDB --------------------------------------------------------------------------

    @staticmethod
    def table_kwargs(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
        """CreateTable arguments from AWS::DynamoDB::Table properties."""
        kwargs: dict[str, Any] = {"TableName": name}
        for key in (
            "AttributeDefinitions",
            "KeySchema",
            "BillingMode",
            "ProvisionedThroughput",
            "TableClass",
            "DeletionProtectionEnabled",
            "OnDemandThroughput",
            "WarmThroughput",
        ):
            if key in props:
                kwargs[key] = props[key]
        index_keys = (
            "IndexName",
            "KeySchema",
            "Projection",
            "ProvisionedThroughput",
            "OnDemandThroughput",
            "WarmThroughput",
        )
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in index_keys}
                for index in props["GlobalSecondaryIndexes"]
            ]
        if props.get("LocalSecondaryIndexes"):
            kwargs["LocalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in props["LocalSecondaryIndexes"]
            ]
        stream = props.get("StreamSpecification")
        if stream and stream.get("StreamViewType"):
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        sse = props.get("SSESpecification")
        if sse and sse.get("SSEEnabled"):
            kwargs["SSESpecification"] = {"Enabled": True}
            for key in ("SSEType", "KMSMasterKeyId"):
                if key in sse:
                    kwargs["SSESpecification"][key] = sse[key]
        if props.get("Tags"):
            kwargs["Tags"] = [{"Key": t["Key"], "Value": str(t["Value"])} for t in props["Tags"]]
        return kwargs

    def table(self, logical_id: str, props: dict[str, Any]) -> None:
        dynamodb = self.client("dynamodb")
        name = props.get("TableName") or self.default_name(logical_id)
        try:
            description = dynamodb.describe_table(TableName=name)["Table"]
            log.info("reusing DynamoDB table %s", name)
            self._reconcile_table(name, props, description)
        except ClientError as error:
            if not _is_error(error, "ResourceNotFoundException"):
                raise
            kwargs = _filter_to_shape(dynamodb, "CreateTable", self.table_kwargs(name, props))
            try:
                dynamodb.create_table(**kwargs)
                log.info("created DynamoDB table %s", name)
            except ClientError as create_error:
                if not _is_error(create_error, "ResourceInUseException"):
                    raise
            self._wait_for_table(name)
            description = dynamodb.describe_table(TableName=name)["Table"]
        self._table_settings(name, props)
        self.resources.tables[logical_id] = name
        self.resources.physical[logical_id] = {
            "Ref": name,
            "Arn": description["TableArn"],
            "StreamArn": description.get("LatestStreamArn", ""),
        }

    def _wait_for_table(self, name: str) -> None:
        delay = 1 if self.endpoint_url else 5
        self.client("dynamodb").get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": delay, "MaxAttempts": 120}
        )

    def _reconcile_table(
        self, name: str, props: Mapping[str, Any], table: Mapping[str, Any]
    ) -> None:
        """Add global secondary indexes the template gained since the table was created."""
        existing = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        wanted = self.table_kwargs(name, props)
        definitions = {d["AttributeName"]: d for d in wanted.get("AttributeDefinitions", [])}
        for index in wanted.get("GlobalSecondaryIndexes", []):
            if index["IndexName"] in existing:
                continue
            used = [definitions[k["AttributeName"]] for k in index["KeySchema"]]
            create = dict(index)
            if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
                create.setdefault(
                    "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
                )
            log.info("adding index %s to table %s", index["IndexName"], name)
            self.client("dynamodb").update_table(
                TableName=name,
                AttributeDefinitions=used,
                GlobalSecondaryIndexUpdates=[{"Create": create}],
            )
            self._wait_for_table(name)
        key_schema = table.get("KeySchema")
        if key_schema and wanted.get("KeySchema") and key_schema != wanted["KeySchema"]:
            log.warning("table %s exists with a different key schema than the template", name)

    def _table_settings(self, name: str, props: Mapping[str, Any]) -> None:
        dynamodb = self.client("dynamodb")
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled") and ttl.get("AttributeName"):
            current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                spec = {"Enabled": True, "AttributeName": ttl["AttributeName"]}
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec)
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and pitr.get("PointInTimeRecoveryEnabled"):
            try:
                dynamodb.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={
                        k: v
                        for k, v in pitr.items()
                        if k in ("PointInTimeRecoveryEnabled", "RecoveryPeriodInDays")
                    },
                )
            except ClientError as error:  # not essential locally
                log.warning("could not enable point-in-time recovery on %s: %s", name, error)

    # -- KMS -------------------------------------------------------------------------------

    def _aliases_for(self, key_logical_id: str) -> list[str]:
        """Alias names in the template that target the given key."""
        names: list[str] = []
        for alias in self.template.kms_aliases():
            if key_logical_id in find_references(alias.properties.get("TargetKeyId")):
                try:
                    names.append(str(self.resolver().resolve(alias.properties["AliasName"])))
                except TemplateError:
                    continue
        return names

    def _usable_key(self, key_id: str) -> dict[str, Any] | None:
        try:
            metadata = self.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
        except ClientError as error:
            if _is_error(error, "NotFoundException"):
                return None
            raise
        return metadata if metadata.get("KeyState") in ("Enabled", "Disabled") else None

    def _find_key(self, logical_id: str) -> dict[str, Any] | None:
        for alias in self._aliases_for(logical_id):
            metadata = self._usable_key(alias)
            if metadata:
                return metadata
        kms = self.client("kms")
        for page in kms.get_paginator("list_keys").paginate():
            for key in page["Keys"]:
                try:
                    tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
                except ClientError:
                    continue
                found = {t["TagKey"]: t["TagValue"] for t in tags}
                if (
                    found.get(_TAG_STACK) == self.resources.stack_name
                    and found.get(_TAG_LOGICAL_ID) == logical_id
                ):
                    metadata = self._usable_key(key["KeyId"])
                    if metadata:
                        return metadata
        return None

    def kms_key(self, logical_id: str, props: dict[str, Any]) -> None:
        kms = self.client("kms")
        metadata = self._find_key(logical_id)
        if metadata:
            log.info("reusing KMS key %s", metadata["KeyId"])
        else:
            kwargs: dict[str, Any] = {
                "Description": props.get("Description", ""),
                "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
                "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
                "Tags": [
                    {"TagKey": t["Key"], "TagValue": str(t["Value"])}
                    for t in props.get("Tags") or []
                ]
                + [
                    {"TagKey": _TAG_STACK, "TagValue": self.resources.stack_name},
                    {"TagKey": _TAG_LOGICAL_ID, "TagValue": logical_id},
                ],
            }
            if props.get("KeyPolicy"):
                policy = props["KeyPolicy"]
                kwargs["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
            for key in ("MultiRegion", "Origin", "BypassPolicyLockoutSafetyCheck"):
                if key in props:
                    kwargs[key] = props[key]
            metadata = kms.create_key(**_filter_to_shape(kms, "CreateKey", kwargs))["KeyMetadata"]
            log.info("created KMS key %s", metadata["KeyId"])
            symmetric = kwargs["KeySpec"] == "SYMMETRIC_DEFAULT"
            if props.get("EnableKeyRotation") and symmetric:
                rotation: dict[str, Any] = {"KeyId": metadata["KeyId"]}
                if props.get("RotationPeriodInDays"):
                    rotation["RotationPeriodInDays"] = int(props["RotationPeriodInDays"])
                kms.enable_key_rotation(**rotation)
            if props.get("Enabled") is False:
                kms.disable_key(KeyId=metadata["KeyId"])
        self.resources.kms_keys[logical_id] = {"KeyId": metadata["KeyId"], "Arn": metadata["Arn"]}
        self.resources.physical[logical_id] = {
            "Ref": metadata["KeyId"],
            "Arn": metadata["Arn"],
            "KeyId": metadata["KeyId"],
        }

    def kms_alias(self, logical_id: str, props: dict[str, Any]) -> None:
        kms = self.client("kms")
        name, target = str(props["AliasName"]), str(props["TargetKeyId"])
        target_id = self.client("kms").describe_key(KeyId=target)["KeyMetadata"]["KeyId"]
        try:
            kms.create_alias(AliasName=name, TargetKeyId=target_id)
        except ClientError as error:
            if not _is_error(error, "AlreadyExistsException"):
                raise
            current = kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"]
            if current != target_id:
                kms.update_alias(AliasName=name, TargetKeyId=target_id)
        self.resources.kms_aliases[logical_id] = name
        self.resources.physical[logical_id] = {"Ref": name}

    # -- SQS -------------------------------------------------------------------------------

    _QUEUE_ATTRIBUTES = (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
    )

    def queue(self, logical_id: str, props: dict[str, Any]) -> None:
        sqs = self.client("sqs")
        fifo = str(props.get("FifoQueue", "")).lower() == "true"
        name = props.get("QueueName")
        if not name:
            name = self.default_name(logical_id, 75 if fifo else 80) + (".fifo" if fifo else "")
        attributes: dict[str, str] = {}
        for key in self._QUEUE_ATTRIBUTES:
            if key not in props:
                continue
            value = props[key]
            if isinstance(value, (dict, list)):
                attributes[key] = json.dumps(value)
            elif isinstance(value, bool):
                attributes[key] = "true" if value else "false"
            else:
                attributes[key] = str(value)
        tags = {t["Key"]: str(t["Value"]) for t in props.get("Tags") or []}
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
        except ClientError as error:
            if not _is_error(error, "QueueAlreadyExists", "QueueNameExists"):
                raise
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            mutable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
            if mutable:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.resources.queues[logical_id] = {"QueueUrl": url, "Arn": arn, "QueueName": name}
        self.resources.physical[logical_id] = {
            "Ref": url,
            "Arn": arn,
            "QueueName": name,
            "QueueUrl": url,
        }

    # -- EventBridge -----------------------------------------------------------------------

    def event_bus(self, logical_id: str, props: dict[str, Any]) -> None:
        events = self.client("events")
        name = str(props.get("Name") or self.default_name(logical_id, 256))
        if name != "default":
            kwargs: dict[str, Any] = {"Name": name}
            for key in ("EventSourceName", "Description", "KmsKeyIdentifier", "DeadLetterConfig"):
                if key in props:
                    kwargs[key] = props[key]
            if props.get("Tags"):
                kwargs["Tags"] = [
                    {"Key": t["Key"], "Value": str(t["Value"])} for t in props["Tags"]
                ]
            try:
                events.create_event_bus(**_filter_to_shape(events, "CreateEventBus", kwargs))
            except ClientError as error:
                if not _is_error(error, "ResourceAlreadyExistsException"):
                    raise
        arn = events.describe_event_bus(Name=name)["Arn"]
        self.resources.event_buses[logical_id] = {"Name": name, "Arn": arn}
        self.resources.physical[logical_id] = {"Ref": name, "Name": name, "Arn": arn}


def _as_template(template: TemplateSource, stack_name: str) -> Template:
    if isinstance(template, Template):
        return template
    if isinstance(template, Mapping):  # load_template()'s output
        return Template(dict(template), stack_name=stack_name)
    return Template.load(template, stack_name=stack_name)


def provision(
    template: TemplateSource,
    session_kwargs: Mapping[str, Any] | None = None,
    endpoint_url: str | None = None,
    stack_name: str = "keyfob-local",
    *,
    account_id: str | None = None,
) -> Resources:
    """Create the template's tables, KMS keys and aliases, SQS queues and EventBridge buses
    (reusing any that already exist) and resolve every function's environment.

    ``session_kwargs`` go to ``boto3.session.Session`` (credentials, ``region_name``,
    ``profile_name``). With ``endpoint_url`` (moto) the account is ``123456789012`` and the
    region defaults to us-east-1; without it the session's own account (STS) and region are used.
    """
    tpl = _as_template(template, stack_name)
    session = boto3.session.Session(**dict(session_kwargs or {}))
    region = session.region_name or (DEFAULT_REGION if endpoint_url else None)
    if region is None:
        raise TemplateError("no AWS region configured (set AWS_REGION or AWS_DEFAULT_REGION)")
    if account_id is None:
        if endpoint_url:
            account_id = ACCOUNT_ID
        else:
            account_id = session.client("sts", region_name=region).get_caller_identity()["Account"]
    resources = Resources(stack_name, region, account_id, endpoint_url)
    resources.physical.update(_placeholders(tpl, stack_name, region, account_id))
    provisioner = _Provisioner(tpl, session, endpoint_url, resources)
    provisioner.run()
    resources.function_envs = resolve_environment(tpl, provisioner.resolver())
    return resources


def placeholder_resources(
    template: TemplateSource,
    stack_name: str = "keyfob-local",
    region: str = DEFAULT_REGION,
    account_id: str = ACCOUNT_ID,
) -> Resources:
    """Resources with made-up physical ids and nothing created: for when the environment
    already names the real ones (``KEYFOB_TABLE`` ...)."""
    tpl = _as_template(template, stack_name)
    resources = Resources(stack_name, region, account_id, None)
    resources.physical.update(_placeholders(tpl, stack_name, region, account_id))
    for spec in tpl.iter_resources(*PROVISIONED_TYPES):
        name = f"{stack_name}-{spec.logical_id}"
        if spec.type == "AWS::KMS::Key":
            key_id = "00000000-0000-0000-0000-000000000000"
            arn = f"arn:aws:kms:{region}:{account_id}:key/{key_id}"
            resources.physical[spec.logical_id] = {"Ref": key_id, "Arn": arn, "KeyId": key_id}
        elif spec.type == "AWS::DynamoDB::Table":
            arn = f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"
            resources.physical[spec.logical_id] = {"Ref": name, "Arn": arn, "StreamArn": ""}
        elif spec.type == "AWS::SQS::Queue":
            url = f"https://sqs.{region}.amazonaws.com/{account_id}/{name}"
            arn = f"arn:aws:sqs:{region}:{account_id}:{name}"
            resources.physical[spec.logical_id] = {
                "Ref": url,
                "Arn": arn,
                "QueueName": name,
                "QueueUrl": url,
            }
        elif spec.type == "AWS::Events::EventBus":
            arn = f"arn:aws:events:{region}:{account_id}:event-bus/{name}"
            resources.physical[spec.logical_id] = {"Ref": name, "Name": name, "Arn": arn}
        else:
            resources.physical[spec.logical_id] = {"Ref": f"alias/{name}"}
    resolver = tpl.resolver(
        resources.physical, region=region, account_id=account_id, stack_name=stack_name
    )
    resources.function_envs = resolve_environment(tpl, resolver)
    return resources


def resource_backed_variables(template: Template) -> set[str]:
    """Names of environment variables whose value refers to a provisioned resource."""
    provisioned = {spec.logical_id for spec in template.iter_resources(*PROVISIONED_TYPES)}
    names: set[str] = set()
    for spec in template.functions().values():
        for name, value in spec.environment.items():
            if find_references(value) & provisioned:
                names.add(name)
    return names
