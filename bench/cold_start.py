"""Cold start: the time to import each function's handler module, with the layer on
the path as in Lambda, as a ratio to a bare ``import boto3`` measured in the same run.

Every sample is a fresh interpreter. Rounds interleave the targets so that machine
noise hits them alike; the median of each is reported, in wall-clock time (the target's
measure) and in the process's CPU time (steadier on a shared machine). Also shown: the
API framework (Powertools' resolver with validation + Logger), which every API
function imports, so that what Keyfob's own code adds is visible on its own; and the
same with botocore's session and client config, which no function imports at init (its
first AWS client does) and which every first request that calls AWS loads. The
denominator stays a bare ``import boto3``, as the target is defined, though no function
imports boto3.

Then the first request on a cold process, against the same floor: a fresh interpreter
imports the handler and invokes it with its sample event (events/<function>.json),
which makes the function's first AWS calls, to a moto server provisioned from
template.yaml on loopback (about as far as AWS is from a Lambda in its region).

Target: at most 1.5x boto3 for every function's import (the first requests are shown
against the same floor, with no target). Printed, not enforced: a timing ratio on a
shared 2-core machine is information, not a pass/fail gate.
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
start, cpu = time.perf_counter(), time.process_time()
{statement}
print(time.perf_counter() - start, time.process_time() - cpu)
"""

FRAMEWORK = (
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
    "from aws_lambda_powertools import Logger\n"
    "APIGatewayHttpResolver(enable_validation=True); Logger()"
)
BASELINES = {
    "boto3 (floor)": ([], "import boto3"),
    "API framework": ([], FRAMEWORK),
    "API framework + botocore": ([], f"{FRAMEWORK}\nimport botocore.config, botocore.session"),
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


def sample(paths: list[str], statement: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of the statement in a fresh interpreter."""
    code = PROBE.format(paths=paths, statement=statement)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    wall, cpu = out.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


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
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in plan}
    for _ in range(ROUNDS):
        for name, (paths, statement) in plan.items():
            times[name].append(sample(paths, statement, env))
    wall = {name: statistics.median(w for w, _ in values) for name, values in times.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in times.items()}
    floor = "boto3 (floor)"
    print(f"cold start: median of {ROUNDS} fresh interpreters, ratio to `import boto3`")
    print(f"{'target':<32}{'ms':>8}{'ratio':>8}{'cpu ms':>9}{'cpu ratio':>10}")
    imports = [name for name in plan if name not in BASELINES and "(1st request)" not in name]
    over = [name for name in imports if wall[name] / wall[floor] > TARGET]
    for name in plan:
        mark = f"  over the {TARGET} target" if name in over else ""
        print(
            f"{name:<32}{wall[name] * 1000:8.1f}{wall[name] / wall[floor]:8.2f}"
            f"{cpu[name] * 1000:9.1f}{cpu[name] / cpu[floor]:10.2f}{mark}"
        )
    print(f"{len(imports) - len(over)} of {len(imports)} functions' imports within {TARGET}x")
    if over:
        print(f"{len(over)} function(s) over target: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
