"""Lambda's SQS event sources in the local stack: a mapped queue's messages reach the
function in batches, as Lambda's SQS event; what it took is deleted, and what it reports
failed (ReportBatchItemFailures) comes back after the queue's visibility timeout."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import boto3

from devstack.gateway import Gateway
from devstack.moto_server import EmbeddedAWS
from devstack.resources import provision
from devstack.rules import Rules

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.lambda_handler
      Runtime: python3.12
      Environment:
        Variables:
          SEEN: "@SEEN@"
      Events:
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
"""

WORKER = """
import json, os

def lambda_handler(event, context):
    failed = []
    with open(os.environ["SEEN"], "a") as seen:
        for record in event["Records"]:
            seen.write(json.dumps({
                "body": record["body"],
                "count": record["attributes"]["ApproximateReceiveCount"],
                "source": record["eventSource"],
                "kind": record["messageAttributes"].get("kind", {}).get("stringValue"),
            }) + "\\n")
            if record["body"] == "fail":
                failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}
"""


def test_a_mapped_queue_feeds_its_function_and_failures_come_back(
    tmp_path: Path, aws: EmbeddedAWS
) -> None:
    seen = tmp_path / "seen.jsonl"
    (tmp_path / "template.yaml").write_text(TEMPLATE.replace("@SEEN@", str(seen)))
    worker = tmp_path / "functions" / "worker"
    worker.mkdir(parents=True)
    (worker / "app.py").write_text(textwrap.dedent(WORKER).lstrip())
    seen.write_text("")
    stack = provision(tmp_path / "template.yaml", None, aws.endpoint_url, "queue-test")
    (source,) = [rule for rule in stack.rules() if rule.queue]
    assert (source.function_id, source.batch_size, source.partial) == ("Worker", 5, True)
    url = str(stack.attributes("Work")["Ref"])
    with Gateway(stack, stack.function_env) as gateway:
        rules = Rules(gateway, stack.rules()).start()
        try:
            sqs = boto3.client("sqs")
            kind = {"kind": {"DataType": "String", "StringValue": "job"}}
            for body in ("one", "fail", "two"):
                sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=kind)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                lines = [json.loads(line) for line in seen.read_text().splitlines()]
                if sum(line["body"] == "fail" for line in lines) >= 2:
                    break
                time.sleep(0.2)
        finally:
            rules.stop()
    lines = [json.loads(line) for line in seen.read_text().splitlines()]
    taken = [line["body"] for line in lines if line["body"] != "fail"]
    assert sorted(taken) == ["one", "two"]  # each once: deleted once taken
    retries = [line["count"] for line in lines if line["body"] == "fail"]
    assert retries[:2] == ["1", "2"]  # back after the visibility timeout
    assert {line["source"] for line in lines} == {"aws:sqs"}
    assert {line["kind"] for line in lines} == {"job"}
