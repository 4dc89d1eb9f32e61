"""devstack against a throwaway SAM project: template reading, provisioning on moto, and the
gateway over real HTTP (routing, payload format 2.0 events, authorizers, response mapping)."""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack.__main__ import shell_overrides
from devstack.gateway import Gateway
from devstack.moto_server import EmbeddedAWS
from devstack.resources import Resources, provision
from devstack.template import NO_VALUE, Template, TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]
STACK = "devstack-test"
CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": "us-east-1",
}

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: test
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
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
            "multiValueHeaders": {"x-multi": ["a", "b"]},
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

FAKE_TENANTS = """
import json
import os


class Tenant:
    id = "tn_dev"


def tenant_for_api_key(api_key):
    return None


def create_tenant(name, api_key=None):
    with open(os.environ["SEED_LOG"], "w") as log:
        json.dump({"name": name, "api_key": api_key}, log)
    return Tenant(), api_key or "generated-key-0123456789"
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
def moto() -> Iterator[EmbeddedAWS]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = EmbeddedAWS()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def resources(project: Path, moto: EmbeddedAWS) -> Resources:
    return provision(project, CREDENTIALS, moto.endpoint_url, stack_name=STACK)


@pytest.fixture(scope="module")
def gateway(project: Path, resources: Resources, moto: EmbeddedAWS) -> Iterator[Gateway]:
    env = {
        **resources.function_env,
        "AWS_ENDPOINT_URL": moto.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with Gateway(project, env, stack_name=STACK) as server:
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


# --------------------------------------------------------------------------- template


def test_yaml_short_forms_become_long_form_intrinsics(project: Path) -> None:
    data = load_template(project)
    variables = data["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == {"Ref": "Table"}
    assert variables["KEY_ARN"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert variables["MODE"] == {"Fn::If": ["IsProd", "production", "development"]}
    assert data["AWSTemplateFormatVersion"] == "2010-09-09"  # not a date


def test_resolver_handles_the_intrinsic_functions() -> None:
    template = Template(
        {
            "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
            "Mappings": {"Sizes": {"dev": {"memory": 128}}},
            "Conditions": {
                "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
                "NotDev": {"Fn::Not": [{"Condition": "IsDev"}]},
                "Both": {
                    "Fn::And": [{"Condition": "IsDev"}, {"Fn::Not": [{"Condition": "NotDev"}]}]
                },
            },
            "Resources": {},
        },
        stack_name="s1",
    )
    resolver = template.resolver({"Thing": {"Ref": "thing-1", "Arn": "arn:thing"}})
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Thing}-${Thing.Arn}-${!Raw}"}) == (
        "s1-thing-1-arn:thing-${Raw}"
    )
    assert resolver.resolve({"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "Thing"}}]}) == "thing-1/dev"
    assert resolver.resolve({"Fn::Join": [",", ["a", {"Ref": "AWS::Region"}]]}) == "a,us-east-1"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": ["/", "x/y/z"]}]}) == "y"
    assert resolver.resolve({"Fn::If": ["NotDev", "no", "yes"]}) == "yes"
    assert resolver.condition("Both") is True
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "memory"]}) == 128
    assert resolver.resolve({"Fn::GetAtt": "Thing.Arn"}) == "arn:thing"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert resolver.resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert resolver.resolve({"Ref": "AWS::Partition"}) == "aws"
    dropped = {
        "a": {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, 1]},
        "b": [{"Ref": "AWS::NoValue"}],
    }
    assert resolver.resolve(dropped) == {"b": []}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
    with pytest.raises(TemplateError):
        resolver.resolve({"Ref": "Missing"})


def test_template_extracts_functions_routes_and_authorizers(project: Path) -> None:
    template = Template.load(project)
    assert [t.logical_id for t in template.tables()] == ["Table"]  # ProdOnlyTable: IsProd false
    functions = template.functions()
    assert functions["MiscFunction"].timeout == 1
    assert functions["EchoFunction"].timeout == 5
    assert functions["EchoFunction"].memory_size == 256
    assert functions["EchoFunction"].code_dir == project.parent / "functions" / "echo"
    assert set(functions["EchoFunction"].environment) >= {"TABLE_NAME", "KEY_ID", "GREETING"}
    routes = {route.route_key: route for route in template.routes()}
    assert routes["GET /items/{id}"].authorizer == "KeyAuth"
    assert routes["GET /public"].authorizer is None
    assert routes["ANY /files/{proxy+}"].function_id == "EchoFunction"
    assert routes["GET /sleepy"].timeout_in_millis == 300
    authorizer = template.http_apis()["Api"].authorizers["KeyAuth"]
    assert authorizer.function_id == "AuthFunction"
    assert authorizer.identity_headers == ("x-api-key",)
    assert authorizer.enable_simple_responses is True
    assert authorizer.reauthorize_every == 300
    assert template.layer_paths() == [project.parent / "layers" / "shared"]


# --------------------------------------------------------------------------- provisioning


def test_provision_creates_the_real_templates_table_key_and_alias(moto: EmbeddedAWS) -> None:
    stack = "devstack-real"
    resources = provision(ROOT / "template.yaml", CREDENTIALS, moto.endpoint_url, stack)
    dynamodb = boto3.client("dynamodb", endpoint_url=moto.endpoint_url, **CREDENTIALS)
    kms = boto3.client("kms", endpoint_url=moto.endpoint_url, **CREDENTIALS)

    name = resources.tables["KeyfobTable"]
    table = dynamodb.describe_table(TableName=name)["Table"]
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
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    key = resources.kms_keys["KeyfobKey"]
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    alias = kms.describe_key(KeyId=f"alias/keyfob-{stack}")["KeyMetadata"]
    assert alias["KeyId"] == key["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}

    env = resources.function_env
    assert env["KEYFOB_TABLE"] == name
    assert env["KEYFOB_KMS_KEY_ID"] == key["Arn"]  # the template uses !GetAtt KeyfobKey.Arn
    assert env["KEYFOB_PUBLIC_URL"] == ""
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert set(resources.function_envs) >= {"AuthorizerFunction", "OAuthCallbackFunction"}

    again = provision(load_template(ROOT / "template.yaml"), CREDENTIALS, moto.endpoint_url, stack)
    assert again.tables == resources.tables
    assert again.kms_keys == resources.kms_keys
    assert again.function_env == env


def test_provision_resolves_queues_buses_and_references(
    resources: Resources, moto: EmbeddedAWS
) -> None:
    sqs = boto3.client("sqs", endpoint_url=moto.endpoint_url, **CREDENTIALS)
    queue = resources.queues["Queue"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["All"])
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == resources.queues["DeadLetters"]["Arn"]
    assert attributes["Attributes"]["VisibilityTimeout"] == "45"
    events = boto3.client("events", endpoint_url=moto.endpoint_url, **CREDENTIALS)
    bus = events.describe_event_bus(Name=f"{STACK}-bus")
    assert resources.event_buses["Bus"] == {"Name": f"{STACK}-bus", "Arn": bus["Arn"]}
    assert resources.kms_aliases["KeyAlias"] == f"alias/{STACK}"
    assert "ProdOnlyTable" not in resources.tables
    env = resources.function_env
    assert env["TABLE_NAME"] == resources.tables["Table"] == f"{STACK}-Table"
    assert env["KEY_ID"] == resources.kms_keys["Key"]["KeyId"]
    assert env["KEY_ARN"] == resources.kms_keys["Key"]["Arn"]
    assert env["QUEUE_URL"] == queue["QueueUrl"]
    assert env["GREETING"] == "hello-test-us-east-1"
    assert env["MODE"] == "development"
    dynamodb = boto3.client("dynamodb", endpoint_url=moto.endpoint_url, **CREDENTIALS)
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
    assert response.raw.headers.getlist("x-multi") == ["a", "b"]
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


def test_functions_see_the_provisioned_resources(gateway: Gateway, resources: Resources) -> None:
    body = get(gateway, "/env").json()
    assert body["env"] == {
        "TABLE_NAME": resources.tables["Table"],
        "KEY_ID": resources.kms_keys["Key"]["KeyId"],
        "KEY_ARN": resources.kms_keys["Key"]["Arn"],
        "QUEUE_URL": resources.queues["Queue"]["QueueUrl"],
        "BUS_NAME": f"{STACK}-bus",
        "GREETING": "hello-test-us-east-1",
        "MODE": "development",
    }
    assert body["table_status"] == "ACTIVE"
    assert body["key_arn"] == resources.kms_keys["Key"]["Arn"]


def test_each_request_is_logged_as_one_line_without_the_query(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="devstack.gateway")
    get(gateway, "/items/abc?code=secret-code&state=s")
    lines = [r.getMessage() for r in caplog.records if r.name == "devstack.gateway"]
    assert len(lines) == 1
    assert re.fullmatch(r"GET /items/abc -> 200 \(\d+\.\d ms\)", lines[0])
    assert "secret" not in caplog.text
    assert "good-1" not in caplog.text


# --------------------------------------------------------------------------- the command


def test_shell_settings_override_the_template_but_not_provisioned_names(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = Template.load(project)
    env = {"TABLE_NAME": "provisioned", "GREETING": "hello", "MODE": "development"}
    monkeypatch.setenv("TABLE_NAME", "from-shell")
    monkeypatch.setenv("MODE", "from-shell")
    monkeypatch.delenv("GREETING", raising=False)
    assert shell_overrides(env, template, provisioned=True) == {
        "TABLE_NAME": "provisioned",
        "GREETING": "hello",
        "MODE": "from-shell",
    }
    assert shell_overrides(env, template, provisioned=False)["TABLE_NAME"] == "from-shell"


def test_moto_server_reset_forgets_everything() -> None:
    script = textwrap.dedent(
        """
        import boto3
        from devstack.moto_server import EmbeddedAWS
        aws = EmbeddedAWS()
        client = boto3.client("sqs", endpoint_url=aws.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="x", aws_secret_access_key="x")
        client.create_queue(QueueName="q")
        assert len(client.list_queues()["QueueUrls"]) == 1
        aws.reset()
        assert "QueueUrls" not in client.list_queues()
        aws.stop()
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_python_m_devstack_serves_the_template(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project")
    layer = project.parent / "layers" / "shared" / "keyfob"  # a stand-in keyfob.tenants
    layer.mkdir()
    (layer / "__init__.py").write_text("")
    (layer / "tenants.py").write_text(FAKE_TENANTS)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KEYFOB_", "AWS_", "POWERTOOLS_"))
    }
    env["SEED_LOG"] = str(tmp_path / "seed.json")
    command = [
        sys.executable,
        "-m",
        "devstack",
        "--port",
        "0",
        "--template",
        str(project),
        "--api-key",
        "dev-key-0123456789abcdef",
        "--no-demo-provider",
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        banner = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            banner.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(banner)
        match = re.search(r"Base URL:\s+(http://127\.0\.0\.1:\d+)", text)
        assert match, text
        base = match.group(1)
        assert f"{base}/v1/oauth/callback" in text
        assert "dev-key-0123456789abcdef" in text
        assert f"curl -s -H 'x-api-key: dev-key-0123456789abcdef' {base}/items" in text
        assert json.loads((tmp_path / "seed.json").read_text()) == {
            "name": "dev",
            "api_key": "dev-key-0123456789abcdef",
        }
        response = requests.get(f"{base}/public?code=abc", timeout=30)
        assert response.status_code == 200
        seen = response.json()["event"]
        assert seen["headers"]["host"] == base.removeprefix("http://")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert re.search(r"GET /public -> 200 \(\d+\.\d ms\)", err), err
    assert "code=abc" not in err
