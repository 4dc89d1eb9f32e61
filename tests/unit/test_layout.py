"""The shape of the code, checked: what the layer ships, what the handlers import, how
long modules grow, and who may change an account's status."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
PACKAGE = LAYER / "keyfob"
FUNCTIONS = sorted((ROOT / "functions").glob("*/app.py"))

# What a handler module may import: the routing framework, and the layer's web, use
# cases and models. Everything else happens behind one call into a service.
HANDLER_IMPORTS = (
    "__future__",
    "typing",
    "aws_lambda_powertools.event_handler",
    "keyfob.web",
    "keyfob.services",
    "keyfob.models",
    "keyfob.catalog",
    "keyfob.core.errors",
    "keyfob.core.observability",
)


def test_the_built_layer_holds_the_keyfob_package_and_nothing_else(tmp_path: Path) -> None:
    # The layer Makefile's own packaging step, as `sam build` runs it (without fetching
    # the arm64 dependencies, which are the requirements file's to name).
    subprocess.run(
        ["make", "-s", "-C", str(LAYER), "package", f"ARTIFACTS_DIR={tmp_path}"],
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    built = tmp_path / "python"
    assert sorted(p.name for p in built.iterdir()) == ["keyfob"]
    files = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    sources = {p.relative_to(LAYER).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sources <= files
    data = {f for f in files if not f.endswith((".py", ".pyc"))}
    assert data == {
        "keyfob/catalog/catalog.json",
        "keyfob/web/static/console.css",
        "keyfob/web/static/console.js",
        "keyfob/web/templates/base.html",
        "keyfob/web/templates/console.html",
        "keyfob/web/templates/connect.html",
        "keyfob/web/templates/docs.html",
        "keyfob/web/templates/docs.js",
        "keyfob/web/templates/message.html",
        "keyfob/web/templates/page.css",
    }
    for name in ("client", "cli", "devstack", "admin", "test"):
        assert not [f for f in files if name in Path(f).stem.split("_")], name
    # Bytecode beside every source, as a read-only layer needs.
    compiled = {f.split("/__pycache__/")[0] + "/" + Path(f).name.split(".")[0] for f in files}
    assert {s[: -len(".py")] for s in sources} <= compiled
    requirements = (LAYER / "requirements.txt").read_text()
    for tool in ("moto", "pytest", "playwright", "mypy", "ruff", "keyfob-client"):
        assert tool not in requirements


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("app", FUNCTIONS, ids=lambda p: p.parent.name)
def test_a_handler_imports_only_the_web_layer_services_and_models(app: Path) -> None:
    strays = {
        module
        for module in _imports(app)
        if not any(
            module == allowed or module.startswith(f"{allowed}.") for allowed in HANDLER_IMPORTS
        )
    }
    assert not strays


def test_no_module_is_over_400_lines() -> None:
    folders = ("devstack", "tools", "keyfob_admin", "clients/python/src/keyfob_client")
    modules = [
        *PACKAGE.rglob("*.py"),
        *FUNCTIONS,
        *(p for f in folders for p in (ROOT / f).rglob("*.py")),
    ]
    long = {
        str(p.relative_to(ROOT)): n for p in modules if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long


def test_only_the_state_machine_writes_a_status() -> None:
    writers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and any(k.arg == "status" for k in node.keywords):
                target = ast.unparse(node.func)
                if target in {"accounts.update", "accounts.restart"}:
                    writers.add(path.relative_to(PACKAGE).as_posix())
    assert writers == {"services/transitions.py"}
