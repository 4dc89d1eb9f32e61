"""What template.yaml promises operators, read from the template as CloudFormation
(SAM's own translator): access logs without secrets, backups, alarms, encryption."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devstack.template import Stack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    stack = Stack(ROOT / "template.yaml")
    found: dict[str, Any] = stack.cfn["Resources"]
    return found


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r.get("Properties", {}) for k, r in resources.items() if r["Type"] == kind}


def test_access_logs_name_the_route_never_the_path_query_string_or_a_header(
    resources: dict[str, Any],
) -> None:
    (stage,) = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    log_format = stage["AccessLogSettings"]["Format"]
    variables = set(re.findall(r"\$context\.([\w.]+)", log_format))
    assert "routeKey" in variables
    assert not {v for v in variables if re.search(r"path|query|header|authorizer", v, re.I)}
    (group,) = of_type(resources, "AWS::Logs::LogGroup").values()
    assert group["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}


def test_every_table_has_point_in_time_recovery(resources: dict[str, Any]) -> None:
    tables = of_type(resources, "AWS::DynamoDB::Table")
    assert len(tables) >= 2
    for name, table in tables.items():
        backups = table["PointInTimeRecoverySpecification"]
        assert backups == {"PointInTimeRecoveryEnabled": True}, name


def test_every_queue_and_table_takes_the_optional_customer_managed_key(
    resources: dict[str, Any],
) -> None:
    for name, queue in of_type(resources, "AWS::SQS::Queue").items():
        assert queue["KmsMasterKeyId"]["Fn::If"][0] == "HasDataKey", name
    for name, table in of_type(resources, "AWS::DynamoDB::Table").items():
        assert table["SSESpecification"]["KMSMasterKeyId"]["Fn::If"][0] == "HasDataKey", name


def test_every_dead_letter_queue_has_an_alarm_and_every_alarm_the_optional_topic(
    resources: dict[str, Any],
) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    watched = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if a.get("Namespace") == "AWS/SQS"
    }
    dead_letter_queues = {
        q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for q in of_type(resources, "AWS::SQS::Queue").values()
        if "RedrivePolicy" in q
    } | {"CommandsDeadLetterQueue"}
    assert dead_letter_queues <= watched
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic", name


def test_the_sweep_workers_and_commands_have_reserved_concurrency(
    resources: dict[str, Any],
) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert functions["SweepWorkerFunction"]["ReservedConcurrentExecutions"] == {
        "Ref": "SweepWorkerConcurrency"
    }
    assert functions["CommandsFunction"]["ReservedConcurrentExecutions"] == {
        "Ref": "CommandsConcurrency"
    }
