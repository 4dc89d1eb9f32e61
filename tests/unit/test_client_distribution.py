"""keyfob-client on a bare Python: ``pip install ./clients/python`` into a fresh virtualenv
brings nothing else along, and the client and its command line import nothing beyond the
standard library.

pip builds the distribution as a user's pip would, with build isolation (setuptools
comes from the package index), from a copy of clients/python: a build in the working
tree would leave build/ behind, whose stale files a later build would ship.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What a fresh virtualenv holds before anything is installed into it.
VENV_OWN = {"pip", "setuptools"}

# Imports the client and the command line and builds the parser (every command and its
# handler), then prints the top-level modules that came along from outside the standard
# library.
PROBE = textwrap.dedent(
    """
    import sys
    from importlib import resources

    before = set(sys.modules)
    import keyfob_client
    import keyfob_client.cli

    keyfob_client.cli._parser()
    assert resources.files(keyfob_client).joinpath("py.typed").is_file()
    loaded = {name.partition(".")[0] for name in set(sys.modules) - before}
    print(",".join(sorted(loaded - set(sys.stdlib_module_names) - {"keyfob_client"})))
    """
)


def _run(*argv: str | Path, cwd: Path) -> str:
    # Nothing of this project's environment on the path: the virtualenv alone.
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    result = subprocess.run(
        [str(arg) for arg in argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (no system site packages) with ./clients/python pip-installed."""
    base = tmp_path_factory.mktemp("bare")
    source = shutil.copytree(
        ROOT / "clients/python",
        base / "keyfob-client",
        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
    )
    _run(sys.executable, "-m", "venv", base / "venv", cwd=base)
    python = base / "venv/bin/python"
    _run(python, "-m", "pip", "install", "--quiet", source, cwd=base)
    return python


def test_pip_installs_the_client_and_nothing_else(bare_python: Path) -> None:
    listed = _run(bare_python, "-m", "pip", "list", "--format=json", cwd=bare_python.parent)
    installed = {package["name"].lower() for package in json.loads(listed)}
    assert installed - VENV_OWN == {"keyfob-client"}


def test_the_client_and_its_cli_import_the_standard_library_alone(bare_python: Path) -> None:
    # Given only the client installed, when it and its command line are imported: they
    # work, typed (py.typed), and no module from outside the standard library came along
    assert _run(bare_python, "-c", PROBE, cwd=bare_python.parent).strip() == ""


def test_the_installed_keyfob_script_runs(bare_python: Path) -> None:
    usage = _run(bare_python.with_name("keyfob"), "--help", cwd=bare_python.parent)
    assert usage.startswith("usage: keyfob")
    for group in ("apps", "integrations", "accounts", "proxy", "connect-links"):
        assert group in usage
