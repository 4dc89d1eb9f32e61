"""Cold start: the time to import each function's handler module, with the layer on
the path as in Lambda, as a ratio to a bare ``import boto3`` measured in the same run.

Every sample is a fresh interpreter. Rounds interleave the targets so that machine
noise hits them alike; the median of each is reported. Also shown: the framework
floor (botocore's session and client config, as the layer imports them in place of
boto3, + Powertools' resolver with validation + Logger), which no API function can go
below, so that what Keyfob's own code adds is visible on its own. The denominator stays
a bare ``import boto3``, as the target is defined, though no function imports boto3.

Then the first request on a cold process, against the same floor: a fresh interpreter
imports the handler and invokes it with its sample event (events/<function>.json),
which makes the function's first AWS calls, to a moto server provisioned from
template.yaml on loopback (about as far as AWS is from a Lambda in its region).

Target: at most 1.5x boto3 for every function. Printed, not enforced: a timing ratio
on a shared 2-core machine is information, not a pass/fail gate.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
from pathlib import Path

from devstack.moto_server import EmbeddedAWS, use_local_endpoint
from devstack.resources import provision
from devstack.template import load_template

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common"
EVENTS = ROOT / "events"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
TARGET = 1.5

PROBE = """
import sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
{statement}
print(time.perf_counter() - start)
"""

BASELINES = {
    "boto3 (floor)": ([], "import boto3"),
    "framework floor": (
        [],
        "import botocore.config, botocore.session\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "from aws_lambda_powertools import Logger\n"
        "APIGatewayHttpResolver(enable_validation=True); Logger()",
    ),
}


# A cold process's first invocation: the handler module imported, then called once.
INVOKE = """
import json
import app

class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self):
        return 30000

app.lambda_handler(json.load(open({event!r})), Context())
"""


def first_requests() -> dict[str, tuple[list[str], str]]:
    """Each function with a sample event: its first request on a cold process."""
    found = {}
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        name = app.parent.name
        samples = sorted(EVENTS.glob(f"{name}.json")) or sorted(EVENTS.glob(f"{name}_*.json"))
        if samples:
            statement = INVOKE.format(event=str(samples[0]))
            found[f"{name} (1st request)"] = ([str(LAYER), str(app.parent)], statement)
    return found


def targets() -> dict[str, tuple[list[str], str]]:
    found = dict(BASELINES)
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        found[app.parent.name] = ([str(LAYER), str(app.parent)], "import app")
    return found | first_requests()


def lambda_like_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYFOB_", "AWS_"))}
    env.update(
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_LAMBDA_FUNCTION_NAME="bench",
        KEYFOB_TABLE="keyfob",
        KEYFOB_KMS_KEY_ID="arn:aws:kms:us-east-1:123456789012:key/bench",
        POWERTOOLS_SERVICE_NAME="keyfob",
        POWERTOOLS_METRICS_NAMESPACE="Keyfob",
        PYTHONDONTWRITEBYTECODE="",
    )
    return env


def sample(paths: list[str], statement: str, env: dict[str, str]) -> float:
    code = PROBE.format(paths=paths, statement=statement)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with EmbeddedAWS() as aws:
        env = lambda_like_env()
        use_local_endpoint(aws.endpoint_url, dummy_credentials=True)
        resources = provision(load_template(ROOT / "template.yaml"), endpoint_url=aws.endpoint_url)
        env.update(
            resources.function_env,
            AWS_ENDPOINT_URL=aws.endpoint_url,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            POWERTOOLS_METRICS_DISABLED="true",
            POWERTOOLS_LOG_LEVEL="ERROR",
        )
        return measure(env)


def measure(env: dict[str, str]) -> int:
    plan = targets()
    for paths, statement in plan.values():  # warm the bytecode caches first
        sample(paths, statement, env)
    times: dict[str, list[float]] = {name: [] for name in plan}
    for _ in range(ROUNDS):
        for name, (paths, statement) in plan.items():
            times[name].append(sample(paths, statement, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["boto3 (floor)"]
    print(f"cold start: median of {ROUNDS} fresh interpreters, ratio to `import boto3`")
    print(f"{'target':<32}{'ms':>8}{'ratio':>8}")
    over = []
    for name, median in medians.items():
        ratio = median / floor
        mark = ""
        if name not in BASELINES and ratio > TARGET:
            mark = f"  over the {TARGET} target"
            over.append(name)
        print(f"{name:<32}{median * 1000:8.1f}{ratio:8.2f}{mark}")
    if over:
        print(f"{len(over)} function(s) over target: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
