"""Shared fixtures: the template, the seed example answers, and rendered projects."""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from hypothesis import settings as hypothesis_settings

# CI explores the same examples on every run: a red build then means a change broke something,
# not that a new random example turned up (those are found by running the suite locally).
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
SEED_ANSWERS: dict[str, Any] = yaml.safe_load((TEMPLATE_ROOT / "tests" / "data" / "klausapproves.yml").read_text())


def seed_answers(**overrides: Any) -> dict[str, Any]:
    """The seed example's answers with some replaced."""
    return {**SEED_ANSWERS, **overrides}


def render(dst: Path, answers: dict[str, Any], *, answers_file: str = ".copier-answers.yml",
           template: Path | str = TEMPLATE_ROOT, vcs_ref: str | None = "HEAD") -> Path:
    """`copier copy` the template (working tree included) into ``dst`` with ``answers``.

    Raises what Copier raises, so a test fails loudly when the template breaks.
    """
    from copier import run_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DirtyLocalWarning: tests render the working tree on purpose
        run_copy(str(template), str(dst), data=answers, defaults=True, unsafe=True, quiet=True,
                 answers_file=answers_file, vcs_ref=vcs_ref)
    return dst


def copied(result: Any) -> Path:
    """A pytest-copie result's project, after checking Copier raised nothing."""
    assert result.exception is None, f"copier failed: {result.exception!r}"
    assert result.exit_code == 0
    return result.project_dir


@pytest.fixture(scope="session")
def seed_project(copie_session: Any) -> Path:
    """The seed example, rendered once per test session (pytest-copie). Tests must not modify it."""
    return copied(copie_session.copy(extra_answers=SEED_ANSWERS))


@pytest.fixture
def make_project(copie: Any, tmp_path: Path) -> Callable[..., Path]:
    """Render a fresh project from the seed answers with overrides: make_project(external=False).

    pytest-copie renders it; a second service's own answers file (which pytest-copie cannot
    name) or a chosen destination go through Copier's API.
    """
    counter = iter(range(1000))

    def _make(*, dst: Path | None = None, answers_file: str = ".copier-answers.yml", **overrides: Any) -> Path:
        if dst is None and answers_file == ".copier-answers.yml":
            return copied(copie.copy(extra_answers=seed_answers(**overrides)))
        target = dst or tmp_path / f"project{next(counter)}" / overrides.get("repository", SEED_ANSWERS["repository"])
        return render(target, seed_answers(**overrides), answers_file=answers_file)

    return _make


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity; return stdout."""
    env_args = ["-c", "user.name=lemi tests", "-c", "user.email=tests@lemi.invalid", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout
