"""devstack against a throwaway SAM project (SAM's translator reads it; devstack runs it)
and against Keyfob's own template: the translated template's functions, routes, authorizer
and rules; provisioning on moto; the gateway over real HTTP (precedence, payload format 2.0
events, the authorizer and its cache, API Gateway's error responses, readiness, a log line
without secrets); DynamoDB writes serialised by the emulator; ``python -m devstack``'s
readiness and stop time."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from devstack.__main__ import shell_overrides
from devstack.gateway import STARTING, Gateway
from devstack.moto_server import EmbeddedAWS
from devstack.resources import provision, resource_backed_variables
from devstack.template import NO_VALUE, Stack, TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]
STACK = "devstack-test"
CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: test
  Accounts:
    Type: CommaDelimitedList
    Default: ""
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasAccounts: !Not [!Equals [!Join ["", !Ref Accounts], ""]]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 5
    MemorySize: 256
    Layers: [!Ref SharedLayer]
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        KEY_ID: !Ref Key
        KEY_ARN: !GetAtt Key.Arn
        QUEUE_URL: !Ref Queue
        BUS_NAME: !Ref Bus
        GREETING: !Sub "hello-${Stage}-${AWS::Region}"
        MODE: !If [IsProd, production, development]
        AUTH_LOG: "@AUTH_LOG@"
Resources:
  SharedLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/shared/
    Metadata:
      BuildMethod: python3.12
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: owner, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
        - {AttributeName: sk, KeyType: RANGE}
      GlobalSecondaryIndexes:
        - IndexName: byOwner
          KeySchema: [{AttributeName: owner, KeyType: HASH}]
          Projection: {ProjectionType: KEYS_ONLY}
          ContributorInsightsSpecification: {Enabled: false}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  ProdOnlyTable:
    Type: AWS::DynamoDB::Table
    Condition: IsProd
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: test key
      EnableKeyRotation: true
  KeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub "alias/${AWS::StackName}"
      TargetKeyId: !Ref Key
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 45
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: 3
  DeadLetters:
    Type: AWS::SQS::Queue
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus"
  BusPolicy:
    Type: AWS::Events::EventBusPolicy
    Condition: HasAccounts
    Properties:
      EventBusName: !Ref Bus
      StatementId: Accounts
      Statement: {Effect: Allow, Principal: {AWS: !Ref Accounts}, Action: events:PutEvents,
                  Resource: !GetAtt Bus.Arn}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: KeyAuth
        Authorizers:
          KeyAuth:
            FunctionArn: !GetAtt AuthFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity:
              Headers: [x-api-key]
              ReauthorizeEvery: 300
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/authorizer/
      Handler: app.lambda_handler
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/echo/
      Handler: app.lambda_handler
      Events:
        ListItems:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /items, Method: GET}
        GetItem:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: "/items/{id}", Method: GET}
        Files:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: "/files/{proxy+}", Method: ANY}
        Echo:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /echo, Method: POST}
        Public:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /public
            Method: GET
            Auth: {Authorizer: NONE}
        Env:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /env, Method: GET}
        Sleepy:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /sleepy, Method: GET, TimeoutInMillis: 300}
  MiscFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/misc/
      Handler: app.lambda_handler
      FunctionName: !Sub "${AWS::StackName}-misc"
      Timeout: 1
      Events:
        Special:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /items/special, Method: GET}
        Readme:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /files/readme, Method: GET}
        Misc:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: "/misc/{what}"
            Method: GET
            Auth: {Authorizer: NONE}
        Hourly:
          Type: Schedule
          Properties: {Schedule: rate(1 hour)}
        Nightly:
          Type: Schedule
          Properties: {Schedule: "cron(0 3 * * ? *)", Enabled: false}
        Orders:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [orders]}
"""

AUTHORIZER = """
import json
import os


def lambda_handler(event, context):
    with open(os.environ["AUTH_LOG"], "a") as log:
        log.write(json.dumps(event) + "\\n")
    key = event["headers"].get("x-api-key", "")
    if key == "boom":
        raise RuntimeError("authorizer exploded")
    if key == "not-a-bool":
        return {"isAuthorized": "yes"}
    return {"isAuthorized": key.startswith("good"), "context": {"tenant": key, "n": 1}}
"""

ECHO = """
import json
import os
import time

import boto3

import helper

NAME = "echo"


def lambda_handler(event, context):
    query = event.get("queryStringParameters") or {}
    if event["rawPath"] == "/sleepy":
        time.sleep(1)
    body = {
        "event": event,
        "helper": helper.VALUE,
        "module": __name__,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
    if event["rawPath"] == "/env":
        names = ("TABLE_NAME", "KEY_ID", "KEY_ARN", "QUEUE_URL", "BUS_NAME", "GREETING", "MODE")
        body["env"] = {name: os.environ.get(name) for name in names}
        table = boto3.client("dynamodb").describe_table(TableName=os.environ["TABLE_NAME"])
        body["table_status"] = table["Table"]["TableStatus"]
        key = boto3.client("kms").describe_key(KeyId=os.environ["KEY_ID"])
        body["key_arn"] = key["KeyMetadata"]["Arn"]
    if "sleep" in query:
        time.sleep(float(query["sleep"]))
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-handler": NAME},
        "body": json.dumps(body),
    }
"""

MISC = """
import base64
import json
import time

import helper

NAME = "misc"


def lambda_handler(event, context):
    what = event.get("pathParameters", {}).get("what", event["rawPath"])
    if what == "cookies":
        return {
            "statusCode": 201,
            "headers": {"x-single": "one", "content-type": "text/plain"},
            "multiValueHeaders": {"x-multi": ["a", "b"]},  # payload format 1.0 only
            "cookies": ["session=abc; HttpOnly", "theme=dark"],
            "body": "made",
        }
    if what == "list":
        return ["a", 1]
    if what == "string":
        return "hello"
    if what == "dict":
        return {"a": 1}
    if what == "none":
        return None
    if what == "empty":
        return {"statusCode": 204, "body": "ignored"}
    if what == "boom":
        raise RuntimeError("boom from misc")
    if what == "slow":
        time.sleep(3)
    if what == "binary":
        data = bytes(range(256))
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(data).decode(),
            "isBase64Encoded": True,
        }
    if what == "malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if what == "unmarshallable":
        return {"statusCode": 200, "body": object()}
    if what == "layer":
        import sharedlib

        return {"statusCode": 200, "body": sharedlib.VALUE}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-handler": NAME},
        "body": json.dumps({"helper": helper.VALUE, "module": __name__, "event": event}),
    }
"""


def write_project(root: Path) -> Path:
    files = {
        "template.yaml": TEMPLATE.replace("@AUTH_LOG@", str(root / "auth.log")),
        "functions/authorizer/app.py": AUTHORIZER,
        "functions/echo/app.py": ECHO,
        "functions/echo/helper.py": "VALUE = 'echo helper'\n",
        "functions/misc/app.py": MISC,
        "functions/misc/helper.py": "VALUE = 'misc helper'\n",
        "layers/shared/sharedlib/__init__.py": "VALUE = 'from the layer'\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    (root / "auth.log").write_text("")
    return root / "template.yaml"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("sam"))


@pytest.fixture(scope="module")
def stack(project: Path, aws: EmbeddedAWS) -> Stack:
    return provision(project, CREDENTIALS, aws.endpoint_url, stack_name=STACK)


@pytest.fixture(scope="module")
def gateway(stack: Stack, aws: EmbeddedAWS) -> Iterator[Gateway]:
    with Gateway(stack, {**stack.function_env, "AWS_ENDPOINT_URL": aws.endpoint_url}) as server:
        yield server


def auth_log(project: Path) -> list[dict[str, Any]]:
    lines = (project.parent / "auth.log").read_text().splitlines()
    return [json.loads(line) for line in lines]


def get(gateway: Gateway, path: str, key: str | None = "good-1", **kwargs: Any) -> Any:
    headers = dict(kwargs.pop("headers", {}))
    if key is not None:
        headers["x-api-key"] = key
    return requests.get(f"{gateway.url}{path}", headers=headers, timeout=30, **kwargs)


def event_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    event: dict[str, Any] = response.json()["event"]
    return event


# --------------------------------------------------------------------------- the template


def test_sam_translates_the_template_and_devstack_reads_what_it_runs(project: Path) -> None:
    stack = Stack(project, stack_name=STACK)
    # Globals merged by SAM, local code and layers mapped back from the transform
    functions = stack.functions()
    assert (functions["MiscFunction"].timeout, functions["EchoFunction"].timeout) == (1, 5)
    assert functions["EchoFunction"].memory_size == 256
    assert functions["EchoFunction"].code_dir == project.parent / "functions" / "echo"
    assert functions["EchoFunction"].layer_dirs == (project.parent / "layers" / "shared",)
    assert functions["MiscFunction"].name == f"{STACK}-misc"
    assert functions["EchoFunction"].name == f"{STACK}-EchoFunction"
    # The HTTP API's OpenAPI body: routes, integrations, the authorizer
    routes = {route.key: route for route in stack.routes()}
    assert routes["GET /items/{id}"].function_id == "EchoFunction"
    assert routes["GET /items/special"].function_id == "MiscFunction"
    assert routes["ANY /files/{proxy+}"].function_id == "EchoFunction"
    assert routes["GET /sleepy"].timeout_ms == 300
    assert routes["GET /public"].authorizer is None
    authorizer = routes["GET /items/{id}"].authorizer
    assert authorizer is not None
    assert (authorizer.name, authorizer.function_id) == ("KeyAuth", "AuthFunction")
    assert (authorizer.identity, authorizer.ttl) == ((("header", "x-api-key"),), 300)
    # The schedules and the event rule, as AWS::Events::Rule resources
    rules = {rule.logical_id: rule for rule in stack.rules()}
    assert {r.function_id for r in rules.values()} == {"MiscFunction"}
    assert (rules["MiscFunctionHourly"].schedule, rules["MiscFunctionHourly"].rate_seconds) == (
        "rate(1 hour)",
        3600,
    )
    assert rules["MiscFunctionNightly"].enabled is False
    assert rules["MiscFunctionNightly"].rate_seconds is None
    assert rules["MiscFunctionOrders"].pattern == {"source": ["orders"]}
    assert rules["MiscFunctionOrders"].bus == f"{STACK}-bus"
    # Conditions: IsProd and HasAccounts are false with the parameters' defaults
    assert "ProdOnlyTable" not in stack.resources("AWS::DynamoDB::Table")
    assert stack.resources("AWS::Events::EventBusPolicy") == {}


def test_the_resolver_resolves_what_the_translated_template_uses(project: Path) -> None:
    stack = Stack(project, stack_name="s1")
    stack.physical["Table"] = {"Ref": "table-1", "Arn": "arn:table"}
    resolver = stack.resolver()
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Table}-${Table.Arn}-${!Raw}"}) == (
        "s1-table-1-arn:table-${Raw}"
    )
    assert (
        resolver.resolve({"Fn::Sub": ["${A}/${Stage}", {"A": {"Ref": "Table"}}]}) == "table-1/test"
    )
    assert resolver.resolve({"Fn::Join": [",", ["a", {"Ref": "AWS::Region"}]]}) == "a,us-east-1"
    assert resolver.resolve({"Fn::If": ["IsProd", "yes", "no"]}) == "no"
    assert resolver.resolve({"Fn::GetAtt": "Table.Arn"}) == "arn:table"
    assert resolver.resolve({"Ref": "Accounts"}) == []
    assert resolver.condition("HasAccounts") is False
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert resolver.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert resolver.resolve({"Ref": "AWS::Partition"}) == "aws"
    dropped = {
        "a": {"Fn::If": ["IsProd", 1, {"Ref": "AWS::NoValue"}]},
        "b": [{"Ref": "AWS::NoValue"}],
    }
    assert resolver.resolve(dropped) == {"b": []}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
    # Made-up ids for what is not provisioned: names from the template, or the stack's
    assert resolver.resolve({"Ref": "Bus"}) == "s1-bus"
    assert resolver.resolve({"Fn::GetAtt": ["EchoFunction", "Arn"]}) == (
        "arn:aws:lambda:us-east-1:123456789012:function:s1-EchoFunction"
    )
    with pytest.raises(TemplateError, match="no resource 'Missing'"):
        resolver.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="Fn::FindInMap is not supported"):
        resolver.resolve({"Fn::FindInMap": ["Sizes", "dev", "memory"]})


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (("EnableSimpleResponses: true", "EnableSimpleResponses: false"), "simple responses"),
        (
            (
                "Path: /echo, Method: POST}",
                "Path: /echo, Method: POST, PayloadFormatVersion: '1.0'}",
            ),
            "payload format 2.0",
        ),
        (
            ("Headers: [x-api-key]", "Headers: [x-api-key]\n              Context: [$context.x]"),
            "identity sources",
        ),
    ],
)
def test_what_the_local_stack_cannot_emulate_is_refused_at_startup(
    tmp_path: Path, change: tuple[str, str], refusal: str
) -> None:
    template = write_project(tmp_path)
    text = template.read_text()
    assert change[0] in text
    template.write_text(text.replace(change[0], change[1]))
    with pytest.raises(TemplateError, match=refusal):
        Gateway(template)


# --------------------------------------------------------------------------- provisioning


def test_provision_creates_the_real_templates_table_key_and_alias(aws: EmbeddedAWS) -> None:
    name = "devstack-real"
    stack = provision(ROOT / "template.yaml", CREDENTIALS, aws.endpoint_url, name)
    dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    kms = boto3.client("kms", endpoint_url=aws.endpoint_url, **CREDENTIALS)

    table_name = stack.physical["KeyfobTable"]["Ref"]
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    declared = load_template(ROOT / "template.yaml")["Resources"]["KeyfobTable"]["Properties"]
    assert set(indexes) == {index["IndexName"] for index in declared["GlobalSecondaryIndexes"]}
    for index in declared["GlobalSecondaryIndexes"]:
        assert indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert indexes[index["IndexName"]]["Projection"] == index["Projection"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    backups = dynamodb.describe_continuous_backups(TableName=table_name)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"

    key = stack.physical["KeyfobKey"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    assert kms.describe_key(KeyId=f"alias/keyfob-{name}")["KeyMetadata"]["KeyId"] == key["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}

    env = stack.function_env
    assert env["KEYFOB_TABLE"] == table_name
    assert env["KEYFOB_KMS_KEY_ID"] == key["Arn"]  # the template uses !GetAtt KeyfobKey.Arn
    assert env["KEYFOB_PUBLIC_URL"] == ""
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert env["KEYFOB_COMMANDS_DLQ_URL"].endswith(f"/123456789012/{name}-CommandsDeadLetterQueue")
    assert resource_backed_variables(stack) == {
        "KEYFOB_TABLE",
        "KEYFOB_KMS_KEY_ID",
        "KEYFOB_EVENT_BUS",
        "KEYFOB_IDEMPOTENCY_TABLE",
        "KEYFOB_COMMANDS_DLQ_URL",
        "KEYFOB_WEBHOOK_QUEUE_URL",
        "KEYFOB_WEBHOOK_DLQ_URL",
        "KEYFOB_SWEEP_QUEUE_URL",
    }
    # A rule that targets a queue only is made on the bus (moto delivers to queues); the
    # rules that target functions are devstack.rules' to run.
    events = boto3.client("events", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    bus = stack.physical["KeyfobBus"]["Ref"]
    rule = stack.physical["WebhookEventsRule"]["Ref"]
    (target,) = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    assert target["Arn"] == stack.physical["WebhookQueue"]["Arn"]
    assert "CommandsFunctionCommands" not in stack.physical

    again = provision(load_template(ROOT / "template.yaml"), CREDENTIALS, aws.endpoint_url, name)
    assert again.physical == stack.physical  # the same table, key (through its alias), queue
    assert again.function_env == env


def test_provision_resolves_queues_buses_and_references(stack: Stack, aws: EmbeddedAWS) -> None:
    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    queue = stack.physical["Queue"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue["Ref"], AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == stack.physical["DeadLetters"]["Arn"]
    assert attributes["Attributes"]["VisibilityTimeout"] == "45"
    events = boto3.client("events", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    bus = events.describe_event_bus(Name=f"{STACK}-bus")
    assert stack.physical["Bus"]["Arn"] == bus["Arn"]
    assert stack.physical["KeyAlias"] == {"Ref": f"alias/{STACK}"}
    assert "ProdOnlyTable" not in stack.physical
    env = stack.function_env
    assert env["TABLE_NAME"] == stack.physical["Table"]["Ref"] == f"{STACK}-Table"
    assert env["KEY_ID"] == stack.physical["Key"]["KeyId"]
    assert env["KEY_ARN"] == stack.physical["Key"]["Arn"]
    assert env["QUEUE_URL"] == queue["Ref"]
    assert env["GREETING"] == "hello-test-us-east-1"
    assert env["MODE"] == "development"
    dynamodb = boto3.client("dynamodb", endpoint_url=aws.endpoint_url, **CREDENTIALS)
    table = dynamodb.describe_table(TableName=env["TABLE_NAME"])["Table"]
    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == ["byOwner"]


# --------------------------------------------------------------------------- routing
def test_exact_routes_win_over_parameters_and_greedy_paths(gateway: Gateway) -> None:
    special = get(gateway, "/items/special")
    assert special.headers["x-handler"] == "misc"
    item = event_of(get(gateway, "/items/abc"))
    assert item["routeKey"] == "GET /items/{id}"
    assert item["pathParameters"] == {"id": "abc"}
    listing = event_of(get(gateway, "/items"))
    assert listing["routeKey"] == "GET /items"
    assert "pathParameters" not in listing
    assert get(gateway, "/files/readme").headers["x-handler"] == "misc"
    files = event_of(get(gateway, "/files/a/b/c.txt"))
    assert files["routeKey"] == "ANY /files/{proxy+}"
    assert files["pathParameters"] == {"proxy": "a/b/c.txt"}
    posted = requests.delete(f"{gateway.url}/files/x", headers={"x-api-key": "good-1"}, timeout=30)
    assert posted.json()["event"]["requestContext"]["http"]["method"] == "DELETE"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("DELETE", "/items"),
        ("GET", "/items/"),
        ("GET", "/files"),
        ("POST", "/items/abc"),
        ("GET", "/items/a/b"),
    ],
)
def test_unmatched_requests_are_404_before_any_authorizer(
    gateway: Gateway, project: Path, method: str, path: str
) -> None:
    before = len(auth_log(project))
    response = requests.request(method, f"{gateway.url}{path}", timeout=30)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
    assert response.headers["content-type"] == "application/json"
    assert len(auth_log(project)) == before


def test_event_is_payload_format_2(gateway: Gateway) -> None:
    response = get(
        gateway,
        "/items/a%20b?x=1&x=2&empty=&plus=%2B&sp=a+b",
        headers={"Cookie": "a=1; b=2", "User-Agent": "tester/1.0", "X-Custom-Header": "v"},
    )
    event = event_of(response)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/a b"  # HTTP APIs deliver the decoded path
    assert event["rawQueryString"] == "x=1&x=2&empty=&plus=%2B&sp=a+b"
    assert event["queryStringParameters"] == {"x": "1,2", "empty": "", "plus": "+", "sp": "a b"}
    assert event["pathParameters"] == {"id": "a b"}
    assert event["cookies"] == ["a=1", "b=2"]
    headers = event["headers"]
    assert "cookie" not in headers
    assert headers["x-custom-header"] == "v"
    assert headers["x-api-key"] == "good-1"
    assert headers["host"] == gateway.url.removeprefix("http://")
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert all(name == name.lower() for name in headers)
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert "stageVariables" not in event

    context = event["requestContext"]
    assert list(context) == [
        "accountId",
        "apiId",
        "authorizer",
        "domainName",
        "domainPrefix",
        "http",
        "requestId",
        "routeKey",
        "stage",
        "time",
        "timeEpoch",
    ]
    assert context["accountId"] == "123456789012"
    assert re.fullmatch(r"[a-z0-9]{10}", context["apiId"])
    assert context["domainName"] == headers["host"]
    assert context["http"] == {
        "method": "GET",
        "path": "/items/a b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tester/1.0",
    }
    assert context["routeKey"] == "GET /items/{id}"
    assert context["stage"] == "$default"
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert abs(context["timeEpoch"] - time.time() * 1000) < 60_000
    assert context["authorizer"] == {"lambda": {"tenant": "good-1", "n": 1}}
    assert response.headers["apigw-requestid"] == context["requestId"]


def test_duplicate_headers_are_comma_joined(gateway: Gateway) -> None:
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=30)
    connection.putrequest("GET", "/items")
    connection.putheader("x-api-key", "good-1")
    connection.putheader("X-Dup", "one")
    connection.putheader("X-Dup", "two")
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["event"]["headers"]["x-dup"] == "one,two"
    connection.close()


def test_handler_gets_a_lambda_context(gateway: Gateway) -> None:
    first = get(gateway, "/items").json()["context"]
    second = get(gateway, "/items").json()["context"]
    assert first["function_name"] == f"{STACK}-EchoFunction"
    assert first["function_version"] == "$LATEST"
    assert first["invoked_function_arn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{STACK}-EchoFunction"
    )
    assert first["memory_limit_in_mb"] == "256"  # a string, as in the Lambda runtime
    assert first["log_group_name"] == f"/aws/lambda/{STACK}-EchoFunction"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", first["log_stream_name"])
    assert 0 < first["remaining"] <= 5000
    assert first["aws_request_id"] != second["aws_request_id"]


def test_functions_with_the_same_module_names_are_isolated(gateway: Gateway) -> None:
    echo = get(gateway, "/items").json()
    misc = get(gateway, "/misc/plain").json()
    assert echo["helper"] == "echo helper"
    assert misc["helper"] == "misc helper"
    assert echo["module"] != misc["module"]


def test_layers_are_importable(gateway: Gateway) -> None:
    response = get(gateway, "/misc/layer", key=None)
    assert response.status_code == 200
    assert response.text == "from the layer"


def test_concurrent_invocations_get_their_own_environments(gateway: Gateway) -> None:
    results: list[int] = []

    def call() -> None:
        results.append(get(gateway, "/items?sleep=0.4").status_code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200, 200]
    assert gateway.functions["EchoFunction"].environments_created >= 3


# --------------------------------------------------------------------------- authorizer


def test_missing_identity_is_401_without_invoking_the_authorizer(
    gateway: Gateway, project: Path
) -> None:
    before = len(auth_log(project))
    for headers in ({}, {"x-api-key": ""}):
        response = requests.get(f"{gateway.url}/items", headers=headers, timeout=30)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
    assert len(auth_log(project)) == before


def test_denied_is_403(gateway: Gateway) -> None:
    response = get(gateway, "/items", key="bad-key")
    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


@pytest.mark.parametrize("key", ["boom", "not-a-bool"])
def test_failing_authorizer_is_500(gateway: Gateway, key: str) -> None:
    response = get(gateway, "/items", key=key)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_authorizer_event_is_the_2_0_request_shape(gateway: Gateway, project: Path) -> None:
    get(gateway, "/items/xyz?q=1", key="good-shape", headers={"Cookie": "c=1"})
    event = auth_log(project)[-1]
    api_id = event["requestContext"]["apiId"]
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["routeArn"] == (
        f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/$default/GET/items/xyz"
    )
    assert event["identitySource"] == ["good-shape"]
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/xyz"
    assert event["rawQueryString"] == "q=1"
    assert event["queryStringParameters"] == {"q": "1"}
    assert event["cookies"] == ["c=1"]
    assert event["headers"]["x-api-key"] == "good-shape"
    assert event["pathParameters"] == {"id": "xyz"}
    assert "authorizer" not in event["requestContext"]
    assert "body" not in event


def test_authorizer_results_are_cached_per_identity(gateway: Gateway, project: Path) -> None:
    gateway.clear_authorizer_cache()
    before = len(auth_log(project))
    for _ in range(3):
        assert get(gateway, "/items", key="good-cached").status_code == 200
        assert get(gateway, "/items", key="bad-cached").status_code == 403
    assert len(auth_log(project)) == before + 2
    assert get(gateway, "/items", key="good-other").status_code == 200
    assert len(auth_log(project)) == before + 3
    gateway.clear_authorizer_cache()
    assert get(gateway, "/items", key="good-cached").status_code == 200
    assert len(auth_log(project)) == before + 4


def test_routes_with_authorizer_none_skip_it(gateway: Gateway, project: Path) -> None:
    before = len(auth_log(project))
    event = event_of(requests.get(f"{gateway.url}/public", timeout=30))
    assert "authorizer" not in event["requestContext"]
    assert len(auth_log(project)) == before


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    ("content_type", "base64_encoded"),
    [
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ("text/plain", False),
        ("application/xml", False),
        ("application/octet-stream", True),
        ("application/x-www-form-urlencoded", True),
        (None, True),
    ],
)
def test_request_bodies_are_base64_encoded_unless_text(
    gateway: Gateway, content_type: str | None, base64_encoded: bool
) -> None:
    payload = b'{"hello": "w\xc3\xb6rld"}'
    headers = {"x-api-key": "good-1"}
    if content_type:
        headers["content-type"] = content_type
    response = requests.post(f"{gateway.url}/echo", data=payload, headers=headers, timeout=30)
    event = event_of(response)
    assert event["isBase64Encoded"] is base64_encoded
    if base64_encoded:
        assert base64.b64decode(event["body"]) == payload
    else:
        assert event["body"] == payload.decode()
    assert event["headers"]["content-length"] == str(len(payload))


def test_bodies_over_10_mb_are_413(gateway: Gateway) -> None:
    response = requests.post(
        f"{gateway.url}/echo",
        data=b"x" * (10 * 1024 * 1024 + 1),
        headers={"x-api-key": "good-1", "content-type": "text/plain"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json() == {"message": "Request Entity Too Large"}


# --------------------------------------------------------------------------- responses


def test_structured_responses_map_status_headers_and_cookies(gateway: Gateway) -> None:
    response = get(gateway, "/misc/cookies", key=None)
    assert response.status_code == 201
    assert response.text == "made"
    assert response.headers["x-single"] == "one"
    assert response.headers["content-type"] == "text/plain"
    assert "x-multi" not in response.headers  # multiValueHeaders: payload format 1.0 only
    assert response.raw.headers.getlist("set-cookie") == ["session=abc; HttpOnly", "theme=dark"]


@pytest.mark.parametrize(
    ("what", "body"),
    [("list", ["a", 1]), ("string", "hello"), ("dict", {"a": 1}), ("none", None)],
)
def test_other_return_values_are_200_json(gateway: Gateway, what: str, body: Any) -> None:
    response = get(gateway, f"/misc/{what}", key=None)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == body


def test_204_responses_have_no_body(gateway: Gateway) -> None:
    response = get(gateway, "/misc/empty", key=None)
    assert response.status_code == 204
    assert response.content == b""


def test_base64_responses_are_decoded(gateway: Gateway) -> None:
    response = get(gateway, "/misc/binary", key=None)
    assert response.status_code == 200
    assert response.content == bytes(range(256))
    assert response.headers["content-type"] == "application/octet-stream"


def test_handler_exception_is_500_with_the_traceback_on_stderr(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    response = get(gateway, "/misc/boom", key=None)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert get(gateway, "/misc/plain", key=None).status_code == 200  # still serving
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "RuntimeError: boom from misc" in err


@pytest.mark.parametrize("what", ["malformed", "unmarshallable"])
def test_invalid_responses_are_500(gateway: Gateway, what: str) -> None:
    response = get(gateway, f"/misc/{what}", key=None)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_function_timeout_is_500_and_integration_timeout_503(gateway: Gateway) -> None:
    started = time.monotonic()
    response = get(gateway, "/misc/slow", key=None)  # Timeout: 1, sleeps 3
    assert response.status_code == 500
    assert time.monotonic() - started < 2.5
    response = get(gateway, "/sleepy")  # TimeoutInMillis: 300, sleeps 1
    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}


# --------------------------------------------------------------------------- environment


def test_functions_see_the_provisioned_resources(gateway: Gateway, stack: Stack) -> None:
    body = get(gateway, "/env").json()
    assert body["env"] == {
        "TABLE_NAME": stack.physical["Table"]["Ref"],
        "KEY_ID": stack.physical["Key"]["KeyId"],
        "KEY_ARN": stack.physical["Key"]["Arn"],
        "QUEUE_URL": stack.physical["Queue"]["Ref"],
        "BUS_NAME": f"{STACK}-bus",
        "GREETING": "hello-test-us-east-1",
        "MODE": "development",
    }
    assert body["table_status"] == "ACTIVE"
    assert body["key_arn"] == stack.physical["Key"]["Arn"]


# --------------------------------------------------------------------------- readiness, log


def test_until_ready_every_request_is_503_and_the_authorizer_is_not_asked(
    stack: Stack, project: Path, aws: EmbeddedAWS
) -> None:
    env = {**stack.function_env, "AWS_ENDPOINT_URL": aws.endpoint_url}
    with Gateway(stack, env, ready=False) as starting:
        before = len(auth_log(project))
        for path, key in [
            ("/items", "good-1"),
            ("/items", "bad-key"),
            ("/public", None),
            ("/x", None),
        ]:
            response = get(starting, path, key=key)
            assert response.status_code == 503
            assert response.json() == {"message": STARTING}
            assert response.json()["message"].startswith("Keyfob is starting: ")
            assert response.headers["retry-after"] == "1"
        assert len(auth_log(project)) == before  # nothing cached: no refusal to outlive this
        starting.ready.set()
        assert get(starting, "/items", key="good-1").status_code == 200
        assert get(starting, "/items", key="bad-key").status_code == 403
        assert len(auth_log(project)) == before + 2


def test_each_request_is_logged_with_its_route_never_its_path_or_query(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devstack.gateway")
    get(gateway, "/items/secret-id?code=secret-code&state=secret-state")
    get(gateway, "/misc/secret-token", key=None)
    get(gateway, "/nowhere/secret-path?secret=1")
    lines = [r.getMessage() for r in caplog.records if r.name == "devstack.gateway"]
    assert len(lines) == 3
    assert re.fullmatch(r"GET /items/\{id\} -> 200 \(\d+\.\d ms\)", lines[0]), lines
    assert re.fullmatch(r"GET /misc/\{what\} -> 200 \(\d+\.\d ms\)", lines[1]), lines
    assert re.fullmatch(r"GET \(no route\) -> 404 \(\d+\.\d ms\)", lines[2]), lines
    assert "secret" not in caplog.text
    assert "good-1" not in caplog.text


# --------------------------------------------------------------------------- the command


def test_shell_settings_override_the_template_but_not_provisioned_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {"TABLE_NAME": "provisioned", "GREETING": "hello", "MODE": "development"}
    monkeypatch.setenv("TABLE_NAME", "from-shell")
    monkeypatch.setenv("MODE", "from-shell")
    monkeypatch.delenv("GREETING", raising=False)
    backed = {"TABLE_NAME"}
    assert shell_overrides(env, backed, provisioned=True) == {
        "TABLE_NAME": "provisioned",
        "GREETING": "hello",
        "MODE": "from-shell",
    }
    assert shell_overrides(env, backed, provisioned=False)["TABLE_NAME"] == "from-shell"


# --------------------------------------------------------------------------- the emulator


def test_the_emulator_serialises_dynamodb_writes_so_a_race_has_one_winner(
    aws: EmbeddedAWS,
) -> None:
    """Two writers claim an item, each on condition that nobody has: a transaction and a
    plain update. DynamoDB lets exactly one win, and keeps the winner's write. moto's
    server alone does not serialise them: the transaction snapshots the table, checks,
    writes, and on a failed check restores the snapshot, erasing the update that won in
    between (or fails on the table changing under the snapshot). The items raced for come
    first in the table, and many more follow, so that the snapshot takes a while."""
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=aws.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}),  # a 500 must not be retried away
        **CREDENTIALS,
    )
    table, rounds = f"race-{uuid.uuid4().hex[:8]}", 30
    dynamodb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(rounds):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"race-{n}"}})
    for start in range(0, 3000, 25):
        puts = [
            {"PutRequest": {"Item": {"pk": {"S": f"other-{n}"}}}} for n in range(start, start + 25)
        ]
        dynamodb.batch_write_item(RequestItems={table: puts})

    def claim(n: int, writer: str, results: dict[str, str], start: threading.Barrier) -> None:
        update = {
            "TableName": table,
            "Key": {"pk": {"S": f"race-{n}"}},
            "UpdateExpression": "SET claimed_by = :me",
            "ConditionExpression": "attribute_not_exists(claimed_by)",
            "ExpressionAttributeValues": {":me": {"S": writer}},
        }
        start.wait()
        try:
            if writer == "transaction":
                dynamodb.transact_write_items(TransactItems=[{"Update": update}])
            else:
                time.sleep(0.015)  # lands while the transaction is under way
                dynamodb.update_item(**update)
            results[writer] = "won"
        except (
            dynamodb.exceptions.TransactionCanceledException,
            dynamodb.exceptions.ConditionalCheckFailedException,
        ):
            results[writer] = "lost"
        except Exception as error:  # an emulator failure is a failure of the race
            results[writer] = repr(error)

    outcomes = []
    try:
        for n in range(rounds):
            results: dict[str, str] = {}
            start = threading.Barrier(2)
            racers = [
                threading.Thread(target=claim, args=(n, writer, results, start))
                for writer in ("transaction", "update")
            ]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join()
            item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"race-{n}"}})["Item"]
            outcomes.append((results, item.get("claimed_by", {}).get("S")))
    finally:
        dynamodb.delete_table(TableName=table)
    wrong = [
        (results, claimed_by)
        for results, claimed_by in outcomes
        if sorted(results.values()) != ["lost", "won"] or results.get(claimed_by or "") != "won"
    ]
    assert wrong == [], f"{len(wrong)} of {rounds} rounds: {wrong}"  # one winner, its write kept


# --------------------------------------------------------------------------- python -m devstack


def _start(*args: str) -> subprocess.Popen[str]:
    """``python -m devstack`` on Keyfob's template, with the embedded moto."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYFOB_", "AWS_"))}
    command = [sys.executable, "-m", "devstack", *args]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _banner(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    while "Ctrl-C to stop." not in "".join(lines[-1:]):
        line = process.stdout.readline()
        assert line, "".join(lines) + (process.stderr.read() if process.stderr else "")
        lines.append(line)
    return "".join(lines)


def _stop(process: subprocess.Popen[str]) -> tuple[float, str]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    return time.monotonic() - started, err


def test_python_m_devstack_answers_503_until_the_dev_tenant_is_there_never_403() -> None:
    # A script polling the port from the start with the dev key, as a user's would
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key = f"kf_{uuid.uuid4().hex}"
    process = _start("--port", str(port), "--api-key", key, "--no-demo-provider")
    seen: list[Any] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.get(
                    f"http://127.0.0.1:{port}/v1/apps", headers={"x-api-key": key}, timeout=30
                )
            except requests.ConnectionError:
                time.sleep(0.01)
                continue
            seen.append((response.status_code, response.json()))
            if response.status_code != 503:
                break
        # Not listening, then "starting" (503), then served: never refused on the way
        assert seen, "devstack never answered"
        assert seen[-1][0] == 200, seen[-3:]
        for status, body in seen[:-1]:
            assert (status, body) == (503, {"message": STARTING})
    finally:
        _stop(process)


def test_python_m_devstack_stops_within_2_s_and_logs_no_secret() -> None:
    process = _start("--port", "0")
    try:
        banner = _banner(process)
        base = re.search(r"Base URL:\s+(http://127\.0\.0\.1:\d+)", banner)
        key = re.search(r"Dev API key:\s+(\S+)", banner)
        assert base and key, banner
        assert f"{base[1]}/v1/oauth/callback" in banner
        assert re.search(rf"Console:\s+{re.escape(base[1])}/console ", banner), banner
        assert f"curl -s -H 'x-api-key: {key[1]}' {base[1]}/v1/apps" in banner
        assert re.search(r"Scheduled:\s+SweepFunction, rate\(5 minutes\)", banner), banner
        assert re.search(r"Event rule:\s+CommandsFunction <- bus keyfob-keyfob-local", banner)
        assert re.search(r"Demo integration:\s+int_\w+", banner), banner
        assert requests.get(f"{base[1]}/v1/apps", headers={"x-api-key": key[1]}, timeout=30).ok
        assert requests.get(f"{base[1]}/console", timeout=30).ok
        requests.get(f"{base[1]}/v1/connect/link-token-secret", timeout=30)
        requests.get(f"{base[1]}/v1/oauth/callback?code=code-secret&state=state-secret", timeout=30)
    finally:
        elapsed, err = _stop(process)
    assert process.returncode == 0, err
    assert elapsed < 2.0, f"stopped in {elapsed:.1f} s"
    assert re.search(r"GET /v1/apps -> 200 \(\d+\.\d ms\)", err), err
    assert re.search(r"GET /v1/connect/\{token\} -> \d+ ", err), err
    assert re.search(r"GET /v1/oauth/callback -> \d+ ", err), err
    assert "secret" not in err
    assert key[1] not in err
