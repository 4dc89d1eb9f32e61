"""Create the translated template's stateful resources (DynamoDB tables, KMS keys and
aliases, SQS queues, EventBridge buses) on moto, another endpoint or real AWS, reusing
what exists, so that the functions' environment names real resources."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore import xform_name

from .template import ACCOUNT_ID, DEFAULT_REGION, Stack, TemplateError, cfn_text

log = logging.getLogger("devstack")

_KINDS = (
    "DynamoDB::Table",
    "KMS::Key",
    "KMS::Alias",
    "SQS::Queue",
    "Events::EventBus",
    "Events::Rule",
)
PROVISIONED_TYPES = tuple(f"AWS::{kind}" for kind in _KINDS)


def _shaped(shape: Any, value: Any) -> Any:
    """``value`` without what the API's input shape does not take (CloudFormation's own
    properties, such as a table's TimeToLiveSpecification)."""
    if shape.type_name == "structure" and isinstance(value, Mapping):
        return {k: _shaped(shape.members[k], v) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list" and isinstance(value, list):
        return [_shaped(shape.member, item) for item in value]
    return value


class _Provisioner:
    def __init__(self, stack: Stack, session: Any, endpoint: str | None) -> None:
        self.stack, self.endpoint = stack, endpoint
        self.client = functools.partial(
            session.client, region_name=stack.region, endpoint_url=endpoint
        )
        # A rule that targets a function is devstack.rules' to run (moto cannot invoke
        # one); a rule that targets queues only is made on the bus, which delivers to them.
        self.wanted = {
            logical_id: props
            for logical_id, props in stack.resources(*PROVISIONED_TYPES).items()
            if stack.type_of(logical_id) != "AWS::Events::Rule" or not self._invokes(props)
        }
        self.started: set[str] = set()

    def call(self, service: str, operation: str, **kwargs: Any) -> Any:
        """The operation, with the arguments it takes of those given."""
        client = self.client(service)
        shape = client.meta.service_model.operation_model(operation).input_shape
        given = {key: value for key, value in kwargs.items() if value is not None}
        return getattr(client, xform_name(operation))(**_shaped(shape, given))

    def ensure(self, logical_id: str) -> Mapping[str, Any]:
        """The resource's physical attributes, created first (dependencies on demand)."""
        if logical_id not in self.wanted or logical_id in self.stack.physical:
            return self.stack.attributes(logical_id)
        if logical_id in self.started:
            raise TemplateError(f"circular reference involving {logical_id}")
        self.started.add(logical_id)
        props = self.stack.resolver(self.ensure).resolve(self.wanted[logical_id])
        kind = self.stack.type_of(logical_id).split("::", 1)[1].replace("::", "_").lower()
        name = str(self.stack.attributes(logical_id)["Ref"])  # its name property, or made up
        self.stack.physical[logical_id] = getattr(self, kind)(logical_id, name, props)
        return self.stack.physical[logical_id]

    def dynamodb_table(self, logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        dynamodb = self.client("dynamodb")
        sse, stream = props.get("SSESpecification") or {}, props.get("StreamSpecification")
        sse = {"Enabled": True, **sse} if sse.get("SSEEnabled") else None
        stream = {"StreamEnabled": True, **stream} if stream else None
        wait = {"TableName": name, "WaiterConfig": {"Delay": 1 if self.endpoint else 5}}
        try:  # an existing table is reused as it is
            dynamodb.describe_table(TableName=name)
            log.info("reusing DynamoDB table %s", name)
        except dynamodb.exceptions.ResourceNotFoundException:
            kwargs = {**props, "TableName": name, "SSESpecification": sse}
            self.call("dynamodb", "CreateTable", **kwargs, StreamSpecification=stream)
            log.info("created DynamoDB table %s", name)
        dynamodb.get_waiter("table_exists").wait(**wait)
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            status = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if status["TimeToLiveStatus"] not in ("ENABLED", "ENABLING"):
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        pitr = {"PointInTimeRecoverySpecification": props.get("PointInTimeRecoverySpecification")}
        if (pitr["PointInTimeRecoverySpecification"] or {}).get("PointInTimeRecoveryEnabled"):
            self.call("dynamodb", "UpdateContinuousBackups", TableName=name, **pitr)
        return {"Ref": name, "Arn": dynamodb.describe_table(TableName=name)["Table"]["TableArn"]}

    def kms_key(self, logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        kms = self.client("kms")
        targets = ({"Ref": logical_id}, {"Fn::GetAtt": [logical_id, "Arn"]})
        for alias in self.wanted.values():  # the key the template's alias names, if any
            if alias.get("TargetKeyId") in targets:
                alias_name = self.stack.resolver(self.ensure).resolve(alias["AliasName"])
                try:
                    key = kms.describe_key(KeyId=alias_name)["KeyMetadata"]
                except kms.exceptions.NotFoundException:
                    continue
                if key["KeyState"] in ("Enabled", "Disabled"):
                    log.info("reusing KMS key %s (%s)", key["KeyId"], alias_name)
                    return {"Ref": key["KeyId"], "Arn": key["Arn"], "KeyId": key["KeyId"]}
        policy = props.get("KeyPolicy")
        policy = json.dumps(policy) if isinstance(policy, dict) else policy
        tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props.get("Tags", [])]
        created = self.call("kms", "CreateKey", **{**props, "Policy": policy, "Tags": tags})
        key = created["KeyMetadata"]
        log.info("created KMS key %s", key["KeyId"])
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=key["KeyId"])
        return {"Ref": key["KeyId"], "Arn": key["Arn"], "KeyId": key["KeyId"]}

    def kms_alias(self, logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        kms = self.client("kms")
        target = kms.describe_key(KeyId=props["TargetKeyId"])["KeyMetadata"]["KeyId"]
        try:
            kms.create_alias(AliasName=name, TargetKeyId=target)
        except kms.exceptions.AlreadyExistsException:
            kms.update_alias(AliasName=name, TargetKeyId=target)
        return {"Ref": name}

    def sqs_queue(self, logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        sqs = self.client("sqs")
        attributes = {
            key: json.dumps(value) if isinstance(value, dict) else cfn_text(value)
            for key, value in props.items()
            if key not in ("QueueName", "Tags")
        }
        tags = {tag["Key"]: str(tag["Value"]) for tag in props.get("Tags", [])}
        try:
            url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
        except sqs.exceptions.QueueNameExists:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes.pop("FifoQueue", None)
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return {"Ref": url, "Arn": found["Attributes"]["QueueArn"], "QueueName": name}

    def _invokes(self, props: Mapping[str, Any]) -> bool:
        for target in props.get("Targets") or []:
            arn = target.get("Arn")
            ref = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
            if ref is None or self.stack.type_of(ref) == "AWS::Lambda::Function":
                return True
        return False

    def events_rule(self, logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        events = self.client("events")
        bus = str(props.get("EventBusName", "default"))
        pattern = props.get("EventPattern")
        self.call(
            "events",
            "PutRule",
            **{**props, "Name": name, "EventPattern": json.dumps(pattern) if pattern else None},
        )
        targets = [{"Id": t["Id"], "Arn": t["Arn"]} for t in props.get("Targets") or []]
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        arn = events.describe_rule(Name=name, EventBusName=bus)["Arn"]
        return {"Ref": name, "Arn": arn}

    def events_eventbus(self, logical_id: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
        events = self.client("events")
        try:
            self.call("events", "CreateEventBus", **{**props, "Name": name})
        except events.exceptions.ResourceAlreadyExistsException:
            log.info("reusing event bus %s", name)
        return {"Ref": name, "Arn": events.describe_event_bus(Name=name)["Arn"], "Name": name}


def provision(
    template: Stack | Mapping[str, Any] | str | Path,
    session_kwargs: Mapping[str, Any] | None = None,
    endpoint_url: str | None = None,
    stack_name: str = "keyfob-local",
    *,
    account_id: str | None = None,
    create: bool = True,
) -> Stack:
    """Create the template's tables, KMS keys and aliases, queues and buses (``create=False``:
    only name them) and return the stack, whose ``function_env`` names them.
    ``session_kwargs`` go to ``boto3.session.Session``. With ``endpoint_url`` the account is
    moto's, ``123456789012``; without it, STS says whose it is."""
    session = boto3.session.Session(**dict(session_kwargs or {}))
    region = session.region_name or (DEFAULT_REGION if endpoint_url or not create else None)
    if region is None:
        raise TemplateError("no AWS region configured (set AWS_REGION or AWS_DEFAULT_REGION)")
    if account_id is None and create and not endpoint_url:
        account_id = session.client("sts", region_name=region).get_caller_identity()["Account"]
    if not isinstance(template, Stack):
        template = Stack(template, stack_name=stack_name)
    template.region, template.account_id = region, account_id or ACCOUNT_ID
    provisioner = _Provisioner(template, session, endpoint_url)
    for logical_id in provisioner.wanted if create else ():
        provisioner.ensure(logical_id)
    return template


def resource_backed_variables(stack: Stack) -> set[str]:
    """The functions' environment variables whose values name a provisioned resource."""
    resolver, names = stack.resolver(), set()
    for _, name, value in stack.variables():
        resolver.referenced.clear()
        resolver.resolve(value)
        if any(stack.type_of(ref) in PROVISIONED_TYPES for ref in resolver.referenced):
            names.add(name)
    return names
