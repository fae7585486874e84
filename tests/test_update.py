"""Day two: `copier update` (through `lemi update`) keeps the owners' work and brings every template change.

The template is released three times in a scratch repository:
  v0.1.0  A: the 0.1 spec shape (spec.autoscaling.targetUtilization)
  v0.1.1  B: a real change in a workflow, the renderer and a platform setting
  v0.2.0  C: this working tree: the 0.2 shape, with its migration
A service generated at A, edited by its owners, is updated to B, then to C.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import SEED_ANSWERS, git
from lemi_hooks import cli
from update_support import TemplateRepo, commit_all, copy_project, tree_differences

SPEC_TEMPLATE = "template/{{ service_path }}/deploy/service.yaml.jinja"
RENDERER = "template/{{ service_path }}/.lemi/render_taskdef.py"
PLATFORM = "lemi_hooks/platform.yml"
WORKFLOW_MARK = "# lemi B: workflows now say hello"
RENDERER_MARK = "# lemi B: renderer change"


def first_workflow(template: TemplateRepo) -> str:
    workflows = sorted((template.path / "template" / ".github" / "workflows").glob("*.jinja"))
    assert workflows, "the template renders no workflow"
    return str(workflows[0].relative_to(template.path))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> TemplateRepo:
    repo = TemplateRepo.from_working_tree(tmp_path_factory.mktemp("template"))
    # A: the 0.1 spec shape.
    repo.edit(SPEC_TEMPLATE, lambda text: text.replace("    target: {{", "    targetUtilization: {{"))
    repo.release("v0.1.0")
    # B: a workflow, the renderer and a platform setting change.
    repo.edit(first_workflow(repo), lambda text: f"{WORKFLOW_MARK}\n{text}")
    repo.edit(RENDERER, lambda text: text.replace("\n", f"\n{RENDERER_MARK}\n", 1))
    repo.edit(PLATFORM, lambda text: text.replace("datadog_site: datadoghq.com", "datadog_site: datadoghq.eu"))
    repo.release("v0.1.1")
    # C: back to this working tree's spec shape, which ships the 0.2.0 migration.
    repo.edit(SPEC_TEMPLATE, lambda text: text.replace("    targetUtilization: {{", "    target: {{"))
    repo.release("v0.2.0")
    return repo


def owner_edits(project: Path) -> None:
    """What owners do to a fresh service: config, spec, code, their own build."""
    spec = project / "deploy" / "service.yaml"
    text = spec.read_text()
    text = text.replace("    max: 10\n", "    max: 20\n")
    text = re.sub(r"    (targetUtilization|target): 70\n", r"    \1: 80\n", text)
    text = text.replace("  environment: []\n", "  environment:\n"
                        "    - key: KLAUS_MODE\n      value: '{{ .Variables[\"klausMode\"] }}'\n")
    spec.write_text(text)
    config = project / "deploy" / "pre" / "config.yaml"
    config.write_text(config.read_text().replace("variables: []\n", "variables:\n  - key: klausMode\n    value: strict\n"))
    code = project / "src" / "main" / "java" / "me" / "lemon" / "klausapproves" / "Approvals.java"
    code.parent.mkdir(parents=True, exist_ok=True)
    code.write_text("package me.lemon.klausapproves;\n\nfinal class Approvals {}\n")
    dockerfile = project / "Dockerfile"
    if dockerfile.exists():
        dockerfile.write_text(dockerfile.read_text() + "# owners: our own packaging step\n")


def assert_owner_edits_survived(project: Path, target_key: str) -> None:
    spec = yaml.safe_load((project / "deploy" / "service.yaml").read_text())
    assert spec["spec"]["autoscaling"]["max"] == 20
    assert spec["spec"]["autoscaling"][target_key] == 80
    assert spec["spec"]["environment"] == [{"key": "KLAUS_MODE", "value": '{{ .Variables["klausMode"] }}'}]
    config = yaml.safe_load((project / "deploy" / "pre" / "config.yaml").read_text())
    assert config["variables"] == [{"key": "klausMode", "value": "strict"}]
    assert (project / "src/main/java/me/lemon/klausapproves/Approvals.java").is_file()
    if (project / "Dockerfile").exists():
        assert (project / "Dockerfile").read_text().endswith("# owners: our own packaging step\n")


def assert_no_conflict_markers(project: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert not path.name.endswith(".rej"), path
            text = path.read_text(errors="replace")
            assert "<<<<<<< " not in text and ">>>>>>> " not in text, path


def lemi_update(project: Path, monkeypatch, *args: str) -> int:
    monkeypatch.chdir(project)
    return cli.main(["update", *args])


@pytest.fixture(scope="module")
def updated(template, tmp_path_factory):
    """The seed service generated at A, edited, then updated to B and to C; snapshots of each step."""
    monkeypatch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("update")
    project = copy_project(template, root / "klausapproves", SEED_ANSWERS, "v0.1.0")
    commit_all(project, "generated at A")
    owner_edits(project)
    commit_all(project, "owners' edits")
    snapshots = {}
    for version in ("v0.1.1", "v0.2.0"):
        code = lemi_update(project, monkeypatch, "--vcs-ref", version)
        snapshot = root / f"at-{version}"
        git(root, "clone", "-q", str(project), str(snapshot))
        for path in project.rglob("*"):  # the working tree as the update left it, before any commit
            relative = path.relative_to(project)
            if ".git" not in relative.parts and path.is_file():
                (snapshot / relative).parent.mkdir(parents=True, exist_ok=True)
                (snapshot / relative).write_bytes(path.read_bytes())
        snapshots[version] = (code, snapshot)
        commit_all(project, f"update to {version}")
    monkeypatch.undo()
    return snapshots


@pytest.mark.parametrize("version", ["v0.1.1", "v0.2.0"])
def test_update_keeps_owner_edits_and_leaves_no_conflict(updated, version):
    code, project = updated[version]
    assert code == 0
    assert_no_conflict_markers(project)
    assert_owner_edits_survived(project, "target" if version == "v0.2.0" else "targetUtilization")


def test_template_changes_arrive(updated):
    _, project = updated["v0.1.1"]
    assert json.loads((project / ".lemi" / "conventions.json").read_text())["datadog_site"] == "datadoghq.eu"
    assert RENDERER_MARK in (project / ".lemi" / "render_taskdef.py").read_text()
    assert any(WORKFLOW_MARK in path.read_text() for path in (project / ".github" / "workflows").iterdir())
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.1.1"


def test_migration_upgrades_the_spec_shape(updated):
    _, project = updated["v0.2.0"]
    spec_text = (project / "deploy" / "service.yaml").read_text()
    assert "targetUtilization" not in spec_text
    assert yaml.safe_load(spec_text)["spec"]["autoscaling"]["target"] == 80


@pytest.mark.parametrize("version", ["v0.1.1", "v0.2.0"])
def test_updated_project_equals_a_fresh_copy_plus_the_owner_edits(updated, template, tmp_path, version):
    _, project = updated[version]
    fresh = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, version)
    owner_edits(fresh)
    assert tree_differences(project, fresh) == []


def test_a_conflicting_edit_is_reported(template, tmp_path, monkeypatch, capsys):
    project = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.1.0")
    commit_all(project, "generated at A")
    renderer = project / ".lemi" / "render_taskdef.py"
    lines = renderer.read_text().split("\n")
    lines[1] = "# owners: we patched the vendored renderer here"  # the line B's change lands beside
    renderer.write_text("\n".join(lines))
    commit_all(project, "owners patch the renderer")
    assert lemi_update(project, monkeypatch, "--vcs-ref", "v0.1.1") == 1
    err = capsys.readouterr().err
    assert "conflicts to resolve" in err and ".lemi/render_taskdef.py" in err


def test_answering_differently_on_update_regenerates_what_depends_on_it(template, tmp_path, monkeypatch):
    project = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.2.0")
    commit_all(project, "generated")
    assert lemi_update(project, monkeypatch, "--vcs-ref", "v0.2.0", "--data", "autoscaling_max=20",
                       "--data", "environments=[pre, qa, prod]") == 0
    spec = yaml.safe_load((project / "deploy" / "service.yaml").read_text())
    assert spec["spec"]["autoscaling"]["max"] == 20
    assert (project / "deploy" / "qa" / "config.yaml").is_file()
    conventions = json.loads((project / ".lemi" / "conventions.json").read_text())
    assert sorted(conventions["environments"]) == ["pre", "prod", "qa"]
    assert_no_conflict_markers(project)


def test_bad_answer_on_update_is_one_line(template, tmp_path, monkeypatch, capsys):
    project = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.2.0")
    commit_all(project, "generated")
    assert lemi_update(project, monkeypatch, "--vcs-ref", "v0.2.0", "--data", "autoscaling_target=0") == 2
    assert "autoscaling_target" in capsys.readouterr().err


def test_two_services_update_independently(template, tmp_path, monkeypatch):
    repo = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.1.0")
    worker = {**SEED_ANSWERS, "service_name": "klausapproves-worker", "service_path": "klausapproves-worker",
              "environments": ["pre"], "external": False}
    copy_project(template, repo, worker, "v0.1.0", answers_file="klausapproves-worker/.copier-answers.yml")
    commit_all(repo, "two services at A")
    first_service = {path: path.read_bytes() for path in repo.rglob("*")
                     if path.is_file() and ".git" not in path.parts
                     and "klausapproves-worker" not in str(path.relative_to(repo))}
    assert lemi_update(repo, monkeypatch, "--service", "klausapproves-worker", "--vcs-ref", "v0.1.1") == 0
    changed = git(repo, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert changed, "the update changed nothing"
    assert all("klausapproves-worker" in line for line in changed), changed
    assert all(path.read_bytes() == content for path, content in first_service.items())
    worker_conventions = json.loads((repo / "klausapproves-worker" / ".lemi" / "conventions.json").read_text())
    assert worker_conventions["datadog_site"] == "datadoghq.eu"


def test_infra_refresh_runs_once_per_update_from_the_project(template, tmp_path, monkeypatch):
    """Copier runs tasks in its two scratch renders too; the infra step must run once, in the project."""
    import os
    import stat

    infra = tmp_path / "infra.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(infra))
    seed = tmp_path / "infra-seed"
    git(tmp_path, "clone", "-q", str(infra), str(seed))
    (seed / "README.md").write_text("infra\n")
    commit_all(seed, "init")
    git(seed, "push", "-q", "origin", "HEAD:main")
    # Count the infra step's runs with a git that logs its one ls-remote of the infra repository.
    log = tmp_path / "clones.log"
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    real_git = subprocess.run(["which", "git"], capture_output=True, text=True, check=True).stdout.strip()
    wrapper = wrapper_dir / "git"
    wrapper.write_text(f'#!/bin/sh\ncase " $* " in *" ls-remote "*"{infra.name}"*) echo run >> "{log}";; esac\n'
                       f'exec "{real_git}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    for token in ("GITHUB_TOKEN", "GH_TOKEN"):
        monkeypatch.delenv(token, raising=False)
    from plumbum import local  # Copier runs tasks with plumbum's copy of the environment

    with local.env(PATH=f"{wrapper_dir}{os.pathsep}{os.environ['PATH']}",
                   GITHUB_TOKEN="", GH_TOKEN=""):
        project = copy_project(template, tmp_path / "klausapproves", {**SEED_ANSWERS, "infra_repo": str(infra)},
                               "v0.1.0")
        assert log.read_text().count("run") == 1
        commit_all(project, "generated at A")
        assert lemi_update(project, monkeypatch, "--vcs-ref", "v0.2.0",
                           "--data", "environments=[pre, qa, prod]") == 0
        assert log.read_text().count("run") == 2
    main_tf = git(tmp_path, "--git-dir", str(infra), "show", "lemi/klausapproves:services/klausapproves/main.tf")
    assert 'module "klausapproves_qa"' in main_tf


def test_plain_copier_update_names_the_conflicts_it_leaves(template, tmp_path, monkeypatch, capsys):
    """Copier exits 0 with conflict markers; lemi's message after the update names the files."""
    import warnings

    from copier import run_update

    project = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.1.0")
    commit_all(project, "generated at A")
    renderer = project / ".lemi" / "render_taskdef.py"
    lines = renderer.read_text().split("\n")
    lines[1] = "# owners: we patched the vendored renderer here"
    renderer.write_text("\n".join(lines))
    commit_all(project, "owners patch the renderer")
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_update(str(project), defaults=True, unsafe=True, overwrite=True, vcs_ref="v0.1.1")
    err = capsys.readouterr().err
    assert "CONFLICTS" in err and ".lemi/render_taskdef.py" in err


def test_an_infra_repo_given_later_is_recorded_and_refreshed_by_updates(template, tmp_path, monkeypatch, capsys):
    from plumbum import local

    infra = tmp_path / "infra.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(infra))
    with local.env(GITHUB_TOKEN="", GH_TOKEN=""):
        project = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.1.0")
        commit_all(project, "generated without an infra repository")
        monkeypatch.chdir(project)
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
        monkeypatch.delenv("GH_TOKEN", raising=False)
        assert cli.main(["infra-pr", "--infra-repo", str(infra)]) == 0
        assert yaml.safe_load((project / ".copier-answers.yml").read_text())["infra_repo"] == str(infra)
        assert "recorded infra_repo" in capsys.readouterr().out
        commit_all(project, "record the infra repository")
        assert lemi_update(project, monkeypatch, "--vcs-ref", "v0.2.0", "--data", "environments=[pre, qa, prod]") == 0
    main_tf = git(tmp_path, "--git-dir", str(infra), "show", "lemi/klausapproves:services/klausapproves/main.tf")
    assert 'module "klausapproves_qa"' in main_tf


def test_an_update_without_an_infra_repo_says_how_to_open_the_pull_request(template, tmp_path, monkeypatch, capfd):
    project = copy_project(template, tmp_path / "klausapproves", SEED_ANSWERS, "v0.1.0")
    commit_all(project, "generated")
    capfd.readouterr()
    assert lemi_update(project, monkeypatch, "--vcs-ref", "v0.1.1") == 0
    assert "lemi infra-pr --infra-repo" in capfd.readouterr().err  # the task's own output
