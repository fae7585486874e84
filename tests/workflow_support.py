"""Reading generated GitHub Actions workflows, running their steps' scripts, and the linters."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

FULL_SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    workflow = yaml.safe_load(path.read_text())
    # PyYAML reads the bare key `on` as the boolean True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow["on"]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {name: None for name in on}
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in steps(job) if s.get("name") == name or s.get("id") == name]
    assert len(found) == 1, f"expected one step named {name!r}, found {len(found)}"
    return found[0]


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    """The job's steps that use ``action`` (owner/name, any ref)."""
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


def run_scripts(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for s in steps(job):
            if "run" in s:
                yield job_id, s


def environment_name(job: dict[str, Any]) -> str | None:
    env = job.get("environment")
    return env.get("name") if isinstance(env, dict) else env


def resolve(value: Any, context: dict[str, Any]) -> str:
    """Substitute ``${{ a.b.c }}`` lookups from ``context``; anything richer is refused,
    so a test never silently evaluates an expression differently from GitHub."""

    def lookup(match: re.Match) -> str:
        current: Any = context
        for part in match.group(1).split("."):
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part) or part not in current:
                raise KeyError(f"cannot evaluate ${{{{ {match.group(1)} }}}} in the test")
            current = current[part]
        return str(current)

    return EXPRESSION.sub(lookup, str(value))


def run_step(step_: dict[str, Any], *, cwd: Path, tmp: Path, context: dict[str, Any] | None = None,
             extra_env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, dict[str, str]]:
    """Run a step's script the way a Linux runner does (``bash -e``), with the step's env.

    Returns the process and what the step wrote to $GITHUB_OUTPUT.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    output = tmp / "github_output"
    output.write_text("")
    script = tmp / "step.sh"
    script.write_text(step_["run"])
    env = {
        **os.environ,
        # The test's Python (and its copier) first, as setup-python puts its own first.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "RUNNER_TEMP": str(tmp),
        **{key: resolve(value, context or {}) for key, value in (step_.get("env") or {}).items()},
        **(extra_env or {}),
    }
    result = subprocess.run(["bash", "-e", str(script)], cwd=cwd, env=env, capture_output=True, text=True)
    outputs = {}
    for line in output.read_text().splitlines():
        key, _, value = line.partition("=")
        outputs[key] = value
    return result, outputs


def require_tool(name: str, install: str) -> str:
    """The tool's path. Missing: a skip on a developer's machine, a failure in CI."""
    path = shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    if path:
        return path
    message = f"{name} is not installed ({install})"
    if os.environ.get("CI", "").lower() in ("", "0", "false"):
        pytest.skip(message)
    pytest.fail(message)
