"""The Python lemi ships (hooks, library, the vendored tool) and its tests pass ruff's error checks:
undefined names, unused imports and variables, syntax errors."""

import os
import shutil
import subprocess

import pytest

from conftest import TEMPLATE_ROOT

PYTHON_SOURCES = ["lemi_hooks", "hooks", "bench", "scripts", "tests", "template/{{ service_path }}/.lemi"]


def test_python_sources_have_no_errors():
    ruff = shutil.which("ruff")
    if ruff is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is not installed (see the test set-up script)")
        pytest.skip("ruff is not installed")
    done = subprocess.run([ruff, "check", "--no-cache", "--select", "F,E9", "--target-version", "py311",
                           "--output-format", "concise", *PYTHON_SOURCES],
                          cwd=TEMPLATE_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
