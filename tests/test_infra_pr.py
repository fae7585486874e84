"""The infra pull request hook, against a real bare git repository and a fake GitHub on 127.0.0.1.

GitHub-hosted infra repositories are cloned from a local bare repository through
git's own url.<base>.insteadOf (set in the environment), so the code under test
runs exactly the path it runs against github.com.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import TEMPLATE_ROOT, git, render, seed_answers
from fake_github import FakeGitHub
from lemi_hooks import platform, infra_pr, terraform

TOKEN = "ghp_fakeTOKENvalue1234567890abcdef"
GITHUB_REPO = "lemon-fintech/infra"
BRANCH = "lemi/klausapproves"


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No token, no git identity, no user config: what a fresh machine has."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                 "GIT_COMMITTER_EMAIL", "EMAIL", "LEMI_GITHUB_API_URL", "GIT_CONFIG_COUNT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def infra(tmp_path: Path) -> Path:
    """A bare infra repository on main holding bpg's service and klausapproves-rds's static folder."""
    bare = tmp_path / "infra.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    work = tmp_path / "infra-work"
    git(tmp_path, "clone", "-q", str(bare), str(work))
    for path in ("README.md", "services/bpg/main.tf", "static/klausapproves-rds/main.tf"):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(f"# {path}\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "Static infrastructure")
    git(work, "push", "-q", "origin", "HEAD:main")
    return bare


def write_answers(folder: Path, **overrides: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".copier-answers.yml").write_text(yaml.safe_dump(seed_answers(**overrides)))
    return folder


def run(folder: Path, *args: str) -> int:
    return infra_pr.main(["--project", str(folder), *args])


def show(bare: Path, ref: str, path: str = "") -> str:
    return git(bare, "show", f"{ref}:{path}" if path else ref)


def branches(bare: Path) -> list[str]:
    return git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


# ── git side ─────────────────────────────────────────────────────────────────

def test_pushes_the_services_terraform_on_its_own_branch(tmp_path: Path, infra: Path, capsys) -> None:
    answers = seed_answers(infra_repo=str(infra))
    service = write_answers(tmp_path / "svc", infra_repo=str(infra))
    main_before = git(infra, "rev-parse", "main")

    assert run(service) == 0

    out = capsys.readouterr()
    assert branches(infra) == [BRANCH, "main"]
    assert git(infra, "rev-parse", "main") == main_before
    expected = terraform.service_files(answers)
    assert show(infra, BRANCH, "services/klausapproves/main.tf") == expected["main.tf"]
    assert show(infra, BRANCH, "services/klausapproves/README.md") == expected["README.md"]
    assert show(infra, BRANCH, "services/bpg/main.tf") == "# services/bpg/main.tf\n"  # the rest is kept
    subject, author = git(infra, "log", "-1", "--format=%s%n%an <%ae>", BRANCH).splitlines()
    assert subject == "lemi: infrastructure for klausapproves (pre, prod)"
    assert author == "lemi <lemi@users.noreply.github.com>"
    assert git(infra, "rev-parse", f"{BRANCH}~1") == main_before
    assert f"pushed {BRANCH}" in out.out
    # bpg and klausapproves-rds are there; the cache is not.
    assert "static/klausapproves-cache/" in out.err
    assert "services/bpg/" not in out.err and "static/klausapproves-rds/" not in out.err


def test_running_again_updates_the_same_branch(tmp_path: Path, infra: Path, capsys) -> None:
    service = write_answers(tmp_path / "svc", infra_repo=str(infra))
    assert run(service) == 0
    first = git(infra, "rev-parse", BRANCH)

    write_answers(service, infra_repo=str(infra), environments=["pre", "qa", "prod"])
    assert run(service) == 0
    assert branches(infra) == [BRANCH, "main"]
    assert git(infra, "rev-parse", f"{BRANCH}~1") == first  # builds on the branch, never a second one
    assert 'module "klausapproves_qa"' in show(infra, BRANCH, "services/klausapproves/main.tf")

    second = git(infra, "rev-parse", BRANCH)
    capsys.readouterr()
    assert run(service) == 0
    assert git(infra, "rev-parse", BRANCH) == second
    assert "already up to date" in capsys.readouterr().out


def test_a_reviewers_commit_on_the_branch_survives_a_rerun(tmp_path: Path, infra: Path) -> None:
    service = write_answers(tmp_path / "svc", infra_repo=str(infra))
    assert run(service) == 0
    work = tmp_path / "reviewer"
    git(tmp_path, "clone", "-q", "--branch", BRANCH, str(infra), str(work))
    (work / "services" / "klausapproves" / "alarms.tf").write_text("# the reviewer's alarms\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "Alarms")
    git(work, "push", "-q", "origin", BRANCH)

    write_answers(service, infra_repo=str(infra), autoscaling_max=20, owners=["klaus", "ana-ops", "bob"])
    assert run(service) == 0
    assert git(infra, "ls-tree", "--name-only", f"{BRANCH}:services/klausapproves").split() == [
        "README.md", "alarms.tf", "main.tf"]
    assert '"bob"' in show(infra, BRANCH, "services/klausapproves/main.tf")


def test_a_rejected_push_says_so_and_the_retry_works(tmp_path: Path, infra: Path, capsys) -> None:
    hook = infra / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen for the audit' >&2\nexit 1\n")
    hook.chmod(0o755)
    service = write_answers(tmp_path / "svc", infra_repo=str(infra))

    assert run(service) == 1
    err = capsys.readouterr().err
    assert f"could not push {BRANCH} to {infra}" in err and "[remote rejected]" in err
    assert "pushes are frozen for the audit" in err
    assert "nothing is lost" in err and f"run in {service}:\n    lemi infra-pr\n" in err
    assert branches(infra) == ["main"]

    hook.unlink()
    assert run(service) == 0
    assert branches(infra) == [BRANCH, "main"]


def test_an_unreachable_repository_says_so_and_the_retry_works(tmp_path: Path, infra: Path, capsys) -> None:
    missing = tmp_path / "not-yet" / "infra.git"
    service = write_answers(tmp_path / "svc", infra_repo=str(missing))

    assert run(service) == 1
    err = capsys.readouterr().err
    assert f"could not reach the infra repository {missing}" in err
    assert "lemi infra-pr" in err

    missing.parent.mkdir()
    infra.rename(missing)
    assert run(service) == 0
    assert BRANCH in branches(missing)


def test_an_empty_infra_repository_gets_the_branch(tmp_path: Path) -> None:
    bare = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    service = write_answers(tmp_path / "svc", infra_repo=str(bare), service_dependencies=[], datastore_dependencies=[])
    assert run(service) == 0
    assert git(bare, "ls-tree", "-r", "--name-only", BRANCH).split() == [
        "services/klausapproves/README.md", "services/klausapproves/main.tf"]


def test_the_copier_task_never_fails_generation(tmp_path: Path) -> None:
    service = write_answers(tmp_path / "svc", infra_repo=str(tmp_path / "nowhere.git"))
    done = subprocess.run([sys.executable, str(TEMPLATE_ROOT / "hooks" / "after_render.py"), ".copier-answers.yml"],
                          cwd=service, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "could not reach the infra repository" in done.stderr and "lemi infra-pr" in done.stderr


def test_outside_a_service_folder_it_says_where_to_run(tmp_path: Path, capsys) -> None:
    assert run(tmp_path) == 2
    err = capsys.readouterr().err
    assert f"cannot read the service's answers at {tmp_path / '.copier-answers.yml'}" in err
    assert "Run it in the service's folder" in err


def test_a_second_service_in_a_folder_is_retried_from_that_folder(tmp_path: Path, infra: Path, capsys) -> None:
    repo = tmp_path / "klausapproves"
    write_answers(repo / "klausapproves-worker", service_name="klausapproves-worker",
                  service_path="klausapproves-worker", infra_repo="../infra.git")
    # "../infra.git" is relative to the repository root (tmp_path/infra.git), not to the service folder.
    (infra / "hooks" / "pre-receive").write_text("#!/bin/sh\nexit 1\n")
    (infra / "hooks" / "pre-receive").chmod(0o755)

    # The Copier task runs at the repository root with the service's answers file.
    assert infra_pr.main(["--project", str(repo), "--answers-file", "klausapproves-worker/.copier-answers.yml"]) == 1
    err = capsys.readouterr().err
    assert f"run in {repo / 'klausapproves-worker'}:\n    lemi infra-pr\n" in err

    (infra / "hooks" / "pre-receive").unlink()
    assert run(repo / "klausapproves-worker") == 0  # the retry, from the service's folder
    assert "lemi/klausapproves-worker" in branches(infra)


@pytest.mark.parametrize("spec, github", [
    ("lemon-fintech/infra", "lemon-fintech/infra"),
    ("https://github.com/lemon-fintech/infra.git", "lemon-fintech/infra"),
    ("git@github.com:lemon-fintech/infra.git", "lemon-fintech/infra"),
    ("https://gitlab.example.com/lemon/infra.git", None),
    ("./infra", None),
])
def test_infra_repository_forms(spec: str, github: str | None, tmp_path: Path) -> None:
    repo = infra_pr.parse_infra_repo(spec, tmp_path)
    assert repo.github == github
    if spec == "./infra":
        assert repo.url == (tmp_path / "infra").as_uri()


# ── GitHub side ──────────────────────────────────────────────────────────────

@pytest.fixture
def github(infra: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    """lemon-fintech/infra on a fake GitHub; its git URL leads to the local bare repository."""
    # Git picks the longest matching prefix, so both URL spellings lead to the bare repository.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    for index, url in enumerate((f"https://github.com/{GITHUB_REPO}.git", f"https://github.com/{GITHUB_REPO}")):
        monkeypatch.setenv(f"GIT_CONFIG_KEY_{index}", f"url.{infra.as_uri()}.insteadOf")
        monkeypatch.setenv(f"GIT_CONFIG_VALUE_{index}", url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with FakeGitHub(TOKEN, {GITHUB_REPO: "main"}) as fake:
        monkeypatch.setenv("LEMI_GITHUB_API_URL", fake.url)
        yield fake


@pytest.fixture
def command_lines(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every command the hook runs, to check no token is ever on one."""
    seen: list[list[str]] = []
    real_run = subprocess.run

    def recording_run(args, *rest, **kwargs):
        seen.append([str(arg) for arg in args])
        return real_run(args, *rest, **kwargs)

    monkeypatch.setattr(infra_pr.subprocess, "run", recording_run)
    return seen


def test_opens_the_pull_request_once_and_then_updates_it(tmp_path: Path, github: FakeGitHub, capsys) -> None:
    service = write_answers(tmp_path / "svc", infra_repo=GITHUB_REPO)
    assert run(service) == 0
    (pull,) = github.pulls
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (BRANCH, "main")
    assert pull["title"] == "lemi: infrastructure for klausapproves (pre, prod)"
    for heading in ("### shared", "### pre", "### prod"):
        assert heading in pull["body"]
    assert "`klausapproves.pre.internal.lemon.me`" in pull["body"]
    assert "opened: https://github.com/lemon-fintech/infra/pull/1" in capsys.readouterr().out

    write_answers(service, infra_repo=GITHUB_REPO, environments=["pre", "qa", "prod"])
    assert run(service) == 0
    assert len(github.pulls) == 1
    assert "### qa" in github.pulls[0]["body"] and "qa" in github.pulls[0]["title"]
    assert ("PATCH", f"/repos/{GITHUB_REPO}/pulls/1") in github.requests
    assert "updated: https://github.com/lemon-fintech/infra/pull/1" in capsys.readouterr().out


def test_gh_token_works_too(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    assert run(write_answers(tmp_path / "svc", infra_repo=f"https://github.com/{GITHUB_REPO}")) == 0
    assert len(github.pulls) == 1


@pytest.mark.parametrize("status, method, expected", [
    (401, None, "401: the token was refused"),
    (403, None, "403: the token may not open pull requests"),
    (404, None, "404: the repository was not found"),
    (422, "POST", "422: GitHub refused the pull request"),
    (500, None, "500: GitHub failed on its side"),
])
def test_github_errors_say_what_failed_and_the_retry_works(
        status: int, method: str | None, expected: str, tmp_path: Path, github: FakeGitHub,
        command_lines: list[list[str]], capsys) -> None:
    service = write_answers(tmp_path / "svc", infra_repo=GITHUB_REPO)
    github.fail(status, method=method)

    assert run(service) == 1
    out, err = capsys.readouterr()
    assert expected in err
    assert f"{BRANCH} is pushed, but the pull request is not" in err
    assert "nothing is lost" in err and "lemi infra-pr" in err
    assert github.pulls == []
    assert BRANCH in branches(infra_pr_remote(github))

    github.clear_faults()
    assert run(service) == 0
    assert len(github.pulls) == 1
    assert TOKEN not in out + err + capsys.readouterr().out
    assert not [line for line in command_lines if any(TOKEN in arg for arg in line)]


def infra_pr_remote(github: FakeGitHub) -> Path:
    return Path(os.environ["GIT_CONFIG_KEY_0"].removeprefix("url.file://").removesuffix(".insteadOf"))


def test_a_github_timeout_says_so(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(infra_pr, "GITHUB_TIMEOUT", 1)
    github.delay = 3
    assert run(write_answers(tmp_path / "svc", infra_repo=GITHUB_REPO)) == 1
    err = capsys.readouterr().err
    assert "did not answer within 1s" in err and "lemi infra-pr" in err


def test_without_a_token_the_branch_is_pushed_and_the_output_says_how_to_open_it(
        tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    assert run(write_answers(tmp_path / "svc", infra_repo=GITHUB_REPO)) == 0
    out = capsys.readouterr().out
    assert f"https://github.com/{GITHUB_REPO}/compare/main...{BRANCH}?expand=1" in out
    assert github.requests == [] and BRANCH in branches(infra_pr_remote(github))


def test_the_token_is_never_written(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch,
                                    command_lines: list[list[str]]) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    service = write_answers(tmp_path / "svc", infra_repo=GITHUB_REPO)
    assert run(service) == 0
    leaked = [path for path in tmp_path.rglob("*") if path.is_file() and TOKEN.encode() in path.read_bytes()]
    assert leaked == []
    assert not [line for line in command_lines if any(TOKEN in arg for arg in line)]
    assert list(scratch.iterdir()) == []  # the clone is gone


# ── Copier ───────────────────────────────────────────────────────────────────

@pytest.mark.slow
def test_copier_copy_proposes_the_infra_once(tmp_path: Path, infra: Path) -> None:
    project = render(tmp_path / "klausapproves", seed_answers(infra_repo=str(infra)))
    assert branches(infra) == [BRANCH, "main"]
    assert show(infra, BRANCH, "services/klausapproves/main.tf") == terraform.service_files(
        yaml.safe_load((project / ".copier-answers.yml").read_text()))["main.tf"]


def test_the_proposal_pins_the_modules_of_the_services_template_version(tmp_path: Path, infra: Path) -> None:
    """`lemi infra-pr` from a newer or older lemi still proposes the modules the service was made for."""
    project = render(tmp_path / "klausapproves", seed_answers(infra_repo=""))
    conventions_file = project / ".lemi" / "conventions.json"
    conventions = json.loads(conventions_file.read_text())
    conventions["terraform_module_version"] = "v0.1.7"
    conventions_file.write_text(json.dumps(conventions))
    assert run(project, "--infra-repo", str(infra)) == 0
    main_tf = show(infra, BRANCH, "services/klausapproves/main.tf")
    assert "?ref=v0.1.7" in main_tf
    assert f"?ref={platform.settings()['terraform']['module_version']}" not in main_tf
