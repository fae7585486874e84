"""Shared fixtures: the template, the seed example answers, and rendered projects."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

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


@pytest.fixture(scope="session")
def seed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed example, rendered once per test session. Tests must not modify it."""
    return render(tmp_path_factory.mktemp("seed") / "klausapproves", SEED_ANSWERS)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Render a fresh project from the seed answers with overrides: make_project(external=False)."""
    counter = iter(range(1000))

    def _make(*, dst: Path | None = None, answers_file: str = ".copier-answers.yml", **overrides: Any) -> Path:
        target = dst or tmp_path / f"project{next(counter)}" / overrides.get("repository", SEED_ANSWERS["repository"])
        return render(target, seed_answers(**overrides), answers_file=answers_file)

    return _make


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity; return stdout."""
    env_args = ["-c", "user.name=lemi tests", "-c", "user.email=tests@lemi.invalid", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout
