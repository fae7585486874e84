"""`.lemi/changes.py`: in a repository holding several services, does a change touch this one?"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git, render, seed_answers


@pytest.fixture(scope="module")
def monorepo(tmp_path_factory) -> Path:
    """klausapproves at the root and klausapproves-worker in its own folder, committed."""
    repo = render(tmp_path_factory.mktemp("mono") / "klausapproves", seed_answers())
    render(repo, seed_answers(service_name="klausapproves-worker", service_path="klausapproves-worker",
                              environments=["pre"], external=False),
           answers_file="klausapproves-worker/.copier-answers.yml")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "two services")
    return repo


def change(repo: Path, *paths: str) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD").strip()
    for path in paths:
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(target.read_text() + "# changed\n" if target.exists() else "new\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"change {' '.join(paths)}")
    return base, git(repo, "rev-parse", "HEAD").strip()


def relevant(folder: Path, base: str, head: str, service: str, tmp_path: Path) -> bool:
    output = tmp_path / "github_output"
    output.write_text("")
    done = subprocess.run([sys.executable, ".lemi/changes.py", "--base", base, "--head", head, "--service", service],
                          cwd=folder, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output)})
    assert done.returncode == 0, done.stderr
    (line,) = output.read_text().splitlines()
    assert done.stdout.startswith(line)
    return line == "relevant=true"


@pytest.mark.parametrize(("paths", "root", "worker"), [
    (["klausapproves-worker/deploy/service.yaml"], False, True),
    (["deploy/service.yaml"], True, False),
    (["src/main/java/me/lemon/klausapproves/New.java", "klausapproves-worker/README.md"], True, True),
    ([".github/workflows/klausapproves-worker-ci.yml"], False, True),
    (["docs/notes.md"], True, False),
], ids=["worker only", "root only", "both", "worker's workflow", "a shared file"])
def test_each_service_sees_only_its_own_changes(monorepo, tmp_path, paths, root, worker):
    base, head = change(monorepo, *paths)
    assert relevant(monorepo, base, head, "klausapproves", tmp_path) is root
    assert relevant(monorepo / "klausapproves-worker", base, head, "klausapproves-worker", tmp_path) is worker


@pytest.mark.parametrize("base", ["", "0" * 40, "f" * 40], ids=["no base", "a new branch", "an unknown commit"])
def test_when_the_changes_cannot_be_known_everything_is_relevant(monorepo, tmp_path, base):
    head = git(monorepo, "rev-parse", "HEAD").strip()
    assert relevant(monorepo, base, head, "klausapproves", tmp_path) is True
