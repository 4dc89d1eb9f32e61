"""Cold start: the time to import each function's handler module, with the layer on
the path as in Lambda, as a ratio to a bare ``import boto3`` measured in the same run.

Every sample is a fresh interpreter. Rounds interleave the targets so that machine
noise hits them alike; the median of each is reported. Also shown: the framework
floor (boto3 + Powertools' resolver with validation + Logger), which no API function
can go below, so that what Keyfob's own code adds is visible on its own.

Target: at most 1.5x boto3 for every function. Printed, not enforced: a timing ratio
on a shared 2-core machine is information, not a pass/fail gate.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common"
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
        "import boto3\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "from aws_lambda_powertools import Logger\n"
        "APIGatewayHttpResolver(enable_validation=True); Logger()",
    ),
}


# The MCP endpoint imports the MCP SDK at its first request, not at init: its cold start
# is the handler module and that first import together. The catalog function's first
# listing reads and validates the whole catalog.
FIRST_REQUEST = {
    # GET /v1/apps validates every catalog app on the container's first listing.
    "fetch_params": "import app\nfrom keyfob.services import apps\napps.list_all()",
    "mcp": "import app\n"
    "from keyfob.web import mcp\n"
    "mcp._server()\n"
    "import mcp.server.streamable_http_manager, mcp.shared.exceptions",
}


def targets() -> dict[str, tuple[list[str], str]]:
    found = dict(BASELINES)
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        found[app.parent.name] = ([str(LAYER), str(app.parent)], "import app")
        if app.parent.name in FIRST_REQUEST:
            paths = [str(LAYER), str(app.parent)]
            found[f"{app.parent.name} (1st request)"] = (paths, FIRST_REQUEST[app.parent.name])
    return found


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
    env = lambda_like_env()
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
    print(f"{'target':<22}{'ms':>8}{'ratio':>8}")
    over = []
    for name, median in medians.items():
        ratio = median / floor
        mark = ""
        if name not in BASELINES and ratio > TARGET:
            mark = f"  over the {TARGET} target"
            over.append(name)
        print(f"{name:<22}{median * 1000:8.1f}{ratio:8.2f}{mark}")
    if over:
        print(f"{len(over)} function(s) over target: {', '.join(over)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
