"""The Terraform the infra pull request proposes, and the modules it calls.

Real validation only: python-hcl2 parses what lemi writes and the modules'
variables.tf, terraform itself checks formatting and string escaping, checkov
scans the modules and a rendered root (with the modules resolved locally).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from conftest import TEMPLATE_ROOT, seed_answers
from lemi_hooks import naming, platform, terraform

MODULES = TEMPLATE_ROOT / "terraform" / "modules"
SETTINGS = platform.settings()
IN_CI = bool(os.environ.get("CI"))

ANSWER_SETS: dict[str, dict[str, Any]] = {
    "seed": seed_answers(),
    "one-env-internal-no-deps": seed_answers(environments=["pre"], external=False, service_dependencies=[],
                                             datastore_dependencies=[]),
    "all-envs": seed_answers(environments=list(SETTINGS["environments"])),
    "external-own-domain": seed_answers(domain="approvals.example.com", external=True),
    "external-domain-under-base": seed_answers(domain="klaus.lemon.me", external=True, service_dependencies=[]),
}
SEED = ANSWER_SETS["seed"]


def tool(name: str, *candidates: Path, installable: bool = True) -> str:
    """A tool's path. A missing tool the set-up script installs fails the test in CI and skips
    it elsewhere; one no reachable registry ships (terraform) skips it everywhere."""
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    message = (f"{name} is not installed (see the test set-up script)" if installable else
               f"{name} is not installed, and no package registry this project reaches ships it")
    if IN_CI and installable:
        pytest.fail(message)
    pytest.skip(message)


def unquote(value: Any) -> Any:
    """python-hcl2 keeps a string literal's quotes: strip them (recursively)."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquote(item) for item in value]
    if isinstance(value, dict):
        return {key: unquote(item) for key, item in value.items() if key != "__is_block__"}
    return value


def parse_dir(folder: Path) -> dict[str, list]:
    """Every block of every .tf file in ``folder``, merged by block type."""
    merged: dict[str, list] = {}
    for path in sorted(folder.glob("*.tf")):
        for kind, blocks in hcl2.loads(path.read_text()).items():
            if not kind.startswith("__"):
                merged.setdefault(kind, []).extend(blocks)
    return merged


def declared_variables(module: str) -> tuple[set[str], set[str]]:
    """(all, required) variable names of one of our modules, from its variables.tf."""
    variables = {}
    for block in hcl2.loads((MODULES / module / "variables.tf").read_text())["variable"]:
        ((name, body),) = block.items()
        variables[unquote(name)] = body
    return set(variables), {name for name, body in variables.items() if "default" not in body}


def module_blocks(tf: dict[str, list]) -> dict[str, dict]:
    return {unquote(label): unquote(body) for block in tf.get("module", []) for label, body in block.items()}


META_ARGUMENTS = {"source", "version", "providers", "depends_on", "count", "for_each"}


def emitted(answers: dict[str, Any], **kwargs: Any) -> dict[str, list]:
    return hcl2.loads(terraform.service_files(answers, **kwargs)["main.tf"])


@pytest.mark.parametrize("case", ANSWER_SETS)
def test_every_module_call_passes_exactly_the_modules_variables(case: str) -> None:
    answers = ANSWER_SETS[case]
    calls = module_blocks(emitted(answers))
    service = answers["service_name"]
    envs = answers["environments"]
    assert list(calls) == ([f"{service}_ecr"] + [f"{service}_{env}" for env in envs]
                           + [f"{service}_{env}_github" for env in envs])
    prefix = SETTINGS["terraform"]["module_source"] + "/"
    pin = "?ref=" + SETTINGS["terraform"]["module_version"]
    for label, body in calls.items():
        source = body["source"]
        assert source.startswith(prefix) and source.endswith(pin), f"{label}: {source} is not the pinned module"
        module = source[len(prefix):-len(pin)]
        everything, required = declared_variables(module)
        arguments = set(body) - META_ARGUMENTS
        assert not required - arguments, f"{label}: required variables missing: {sorted(required - arguments)}"
        assert not arguments - everything, f"{label}: unknown arguments: {sorted(arguments - everything)}"
        assert arguments == everything, f"{label}: optional variables left to defaults: {sorted(everything - arguments)}"


def test_calls_inside_the_modules_pass_exactly_the_called_modules_variables() -> None:
    checked = 0
    for folder in sorted(path for path in MODULES.iterdir() if path.is_dir()):
        for label, body in module_blocks(parse_dir(folder)).items():
            if not body["source"].startswith("../"):
                continue
            everything, required = declared_variables(body["source"].removeprefix("../"))
            arguments = set(body) - META_ARGUMENTS
            assert required <= arguments <= everything, f"{folder.name}: module {label}"
            checked += 1
    assert checked, "the ecs-service module calls the dashboard module"


def test_arguments_follow_the_naming_conventions() -> None:
    answers = ANSWER_SETS["external-own-domain"]
    calls = module_blocks(emitted(answers))
    conventions = naming.service_conventions(
        "klausapproves", ["pre", "prod"], external=True, domain="approvals.example.com",
        service_dependencies=["bpg"], datastore_dependencies=["klausapproves-rds", "klausapproves-cache"])
    pre, prod = calls["klausapproves_pre"], calls["klausapproves_prod"]
    assert pre["cluster_name"] == conventions["environments"]["pre"]["cluster"] == "lemon-pre"
    assert pre["internal_alb_name"] == "lemon-pre-internal" and pre["external_alb_name"] == "lemon-pre-external"
    assert pre["internal_host"] == "klausapproves.pre.internal.lemon.me"
    # The own domain is production's; other environments keep the convention, in the base zone.
    assert (pre["external_host"], pre["external_zone"]) == ("klausapproves.pre.lemon.me", "lemon.me")
    assert (prod["external_host"], prod["external_zone"]) == ("approvals.example.com", "example.com")
    assert pre["dependency_security_groups"] == ["bpg-clients", "klausapproves-rds-clients", "klausapproves-cache-clients"]
    assert pre["dependencies"] == [{"name": "bpg", "kind": "service"},
                                   {"name": "klausapproves-rds", "kind": "database"},
                                   {"name": "klausapproves-cache", "kind": "cache"}]
    assert pre["secret_name_prefix"] == "klausapproves/pre/"
    image = calls["klausapproves_ecr"]
    assert conventions["ecr_push_role_arn"].endswith(":role/" + image["push_role_name"])
    assert image["base_image_repositories"] == ["platform/java-build", "platform/java-runtime"]
    assert image["github_repository"] == pre["github_repository"] == "lemon-fintech/klausapproves"
    assert calls["klausapproves_ecr"]["pull_role_arns"] == [
        conventions["environments"][env]["execution_role_arn"] for env in ("pre", "prod")]

    internal = module_blocks(emitted(ANSWER_SETS["one-env-internal-no-deps"]))["klausapproves_pre"]
    assert internal["external"] is False
    assert internal["external_host"] == internal["external_alb_name"] == internal["external_zone"] == ""
    assert internal["dependency_security_groups"] == [] and internal["dependencies"] == []


def test_each_environment_gets_its_own_account_provider() -> None:
    tf = emitted(ANSWER_SETS["all-envs"])
    providers = [unquote(body) for block in tf["provider"] for name, body in block.items() if name == '"aws"']
    roles = {provider["alias"]: provider["assume_role"][0]["role_arn"] for provider in providers}
    for env, settings in SETTINGS["environments"].items():
        assert roles[env].startswith(f"arn:aws:iam::{settings['aws_account_id']}:role/")
    assert roles["tooling"].startswith(f"arn:aws:iam::{SETTINGS['ecr_account_id']}:role/")
    calls = module_blocks(tf)
    assert calls["klausapproves_qa"]["providers"] == {"aws": "${aws.qa}", "datadog": "datadog"}


@pytest.mark.parametrize("value", [
    "plain", "${var.secret}", "%{ if true }x%{ endif }", 'quote " and \\ backslash', "$${already}",
    "new\nline\ttab", "ünïcode ✓", "\x01control",
])
def test_hcl_string_is_read_back_by_terraform_as_exactly_the_value(value: str, tmp_path: Path) -> None:
    binary = tool("terraform", installable=False)
    literal = terraform.hcl_string(value)
    hcl2.loads(f"x = {literal}\n")  # python-hcl2 accepts it too
    done = subprocess.run([binary, f"-chdir={tmp_path}", "console"], input=f"jsonencode({literal})\n",
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout.strip())) == value


@pytest.mark.parametrize("case", ["seed", "one-env-internal-no-deps"])
def test_emitted_terraform_and_modules_are_terraform_fmt_clean(case: str, tmp_path: Path) -> None:
    binary = tool("terraform", installable=False)
    (tmp_path / "main.tf").write_text(terraform.service_files(ANSWER_SETS[case])["main.tf"])
    for target in (tmp_path, MODULES):
        done = subprocess.run([binary, "fmt", "-check", "-diff", "-recursive", str(target)], capture_output=True,
                              text=True, timeout=60, env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull})
        assert done.returncode == 0, f"terraform fmt would change {target}:\n{done.stdout}"


def resources(module: str) -> list[tuple[str, str, dict]]:
    return [(unquote(kind), unquote(name), unquote(body)) for block in parse_dir(MODULES / module).get("resource", [])
            for kind, named in block.items() for name, body in named.items()]


def test_ecs_service_leaves_task_definition_and_scaling_to_ci() -> None:
    (service,) = [body for kind, _, body in resources("ecs-service") if kind == "aws_ecs_service"]
    assert service["launch_type"] == "FARGATE" and service["enable_execute_command"] is True
    assert service["deployment_circuit_breaker"] == [{"enable": True, "rollback": True}]
    assert set(service["lifecycle"][0]["ignore_changes"]) == {"task_definition", "desired_count"}
    kinds = {kind for module in ("ecs-service", "ecr-repository", "service-dashboard")
             for kind, _, _ in resources(module)}
    assert not {kind for kind in kinds if kind.startswith("aws_appautoscaling")}, \
        ".lemi/apply_scaling.py owns scaling; Terraform must not fight it"


def test_the_service_admits_http_only_from_load_balancers_and_its_clients() -> None:
    ingress = [body for kind, _, body in resources("ecs-service") if kind == "aws_vpc_security_group_ingress_rule"]
    assert len(ingress) == 2
    for rule in ingress:
        assert rule["from_port"] == rule["to_port"] == "${var.http_port}"
        assert "referenced_security_group_id" in rule and "cidr_ipv4" not in rule
    sources = sorted(rule["referenced_security_group_id"] for rule in ingress)
    assert sources == ["${aws_security_group.clients.id}", "${each.value}"]


def test_execution_role_reads_only_the_services_own_secrets() -> None:
    (document,) = [body for block in parse_dir(MODULES / "ecs-service")["data"]
                   for kind, named in block.items() if kind == '"aws_iam_policy_document"'
                   for name, body in named.items() if name == '"execution_secrets"']
    (statement,) = unquote(document)["statement"]
    assert statement["actions"] == ["secretsmanager:GetSecretValue"]
    assert statement["resources"] == ["${var.secret_arn_prefix}${var.secret_name_prefix}*"]


# Resource types AWS or Datadog cannot tag.
UNTAGGABLE = {
    "aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_group", "aws_iam_user_group_membership",
    "aws_iam_group_policy_attachment", "aws_route53_record", "aws_acm_certificate_validation",
    "aws_lb_listener_certificate", "aws_ecr_repository_policy", "aws_ecr_lifecycle_policy", "datadog_dashboard_json",
}


@pytest.mark.parametrize("module", ["ecs-service", "ecr-repository"])
def test_every_taggable_resource_carries_the_four_tags(module: str) -> None:
    tf = parse_dir(MODULES / module)
    (local_tags,) = [block["tags"] for block in tf["locals"] if "tags" in block]
    assert set(local_tags) == {"service", "env", "owners", "repository"}
    for kind, name, body in resources(module):
        if kind in UNTAGGABLE:
            continue
        assert re.match(r"^\$\{(merge\()?local\.tags", str(body.get("tags", ""))), f"{kind}.{name} is not tagged"


def checkov(target: Path) -> dict:
    binary = tool("checkov", TEMPLATE_ROOT / ".venv-checkov" / "bin" / "checkov")
    done = subprocess.run([binary, "-d", str(target), "--framework", "terraform", "--skip-download",
                           "--output", "json"], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    reports = report if isinstance(report, list) else [report]
    assert len(reports) == 1, done.stdout[:2000]
    return reports[0]


def assert_clean(report: dict) -> None:
    failed = [f"{check['check_id']} {check['resource']} ({check['file_path']})"
              for check in report["results"]["failed_checks"]]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    for skipped in report["results"]["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.split()) >= 3, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"


@pytest.mark.slow
def test_checkov_passes_the_modules() -> None:
    report = checkov(MODULES)
    assert_clean(report)
    assert report["summary"]["passed"] > 50


@pytest.mark.slow
def test_checkov_passes_a_rendered_service_root(tmp_path: Path) -> None:
    # The infra repository's layout with our modules beside it, so checkov resolves them offline.
    shutil.copytree(MODULES, tmp_path / "modules")
    root = tmp_path / "services" / "klausapproves"
    root.mkdir(parents=True)
    (root / "main.tf").write_text(terraform.service_files(seed_answers(), source="../../modules")["main.tf"])
    report = checkov(root)
    assert_clean(report)
    scanned = {check["resource"] for check in report["results"]["passed_checks"]}
    for resource in ("module.klausapproves_pre.aws_ecs_service.this", "module.klausapproves_prod.aws_iam_role.execution",
                     "module.klausapproves_ecr.aws_ecr_repository.this"):
        assert resource in scanned, f"checkov did not scan {resource}: the modules were not resolved"


def _trust_subjects(module: str, document: str) -> list:
    """The values of the GitHub OIDC `sub` conditions in one policy document of a module."""
    for block in parse_dir(MODULES / module)["data"]:
        policies = unquote(block.get('"aws_iam_policy_document"') or {})
        if f'"{document}"' in policies:
            body = policies[f'"{document}"']
            return [condition["values"] for statement in body["statement"]
                    for condition in statement.get("condition", [])
                    if condition["variable"] == "token.actions.githubusercontent.com:sub"]
    raise AssertionError(f"{module} has no policy document {document}")


def test_only_deploy_jobs_and_release_refs_may_assume_the_ci_roles() -> None:
    """A pull request's workflow must not be able to deploy or push an image."""
    assert _trust_subjects("ecs-service", "deploy_trust") == [
        ["repo:${var.github_repository}:environment:${var.environment}"]]
    (push_subjects,) = _trust_subjects("ecr-repository", "push_trust")
    assert "var.push_refs" in str(push_subjects) and ":ref:" in str(push_subjects)
    ecr_call = module_blocks(emitted(ANSWER_SETS["all-envs"]))["klausapproves_ecr"]
    assert unquote(ecr_call["push_refs"]) == ["refs/heads/develop", "refs/tags/*"]
    internal = module_blocks(emitted(seed_answers(environments=["pre"])))["klausapproves_ecr"]
    assert unquote(internal["push_refs"]) == ["refs/heads/develop"]


# ── Review findings: each test below fails without its fix ────────────────────

def policy_statements(module: str, document: str) -> dict[str, dict]:
    """The statements of one ``aws_iam_policy_document`` of a module, by sid."""
    for block in parse_dir(MODULES / module)["data"]:
        policies = unquote(block.get('"aws_iam_policy_document"') or {})
        if f'"{document}"' in policies:
            return {statement.get("sid", f"#{index}"): statement
                    for index, statement in enumerate(policies[f'"{document}"']["statement"])}
    raise AssertionError(f"{module} has no policy document {document}")


def statement_actions(module: str, statement: dict) -> list[str]:
    """A statement's actions, lists in the module's locals (``local.pull_actions``) resolved."""
    actions = statement["actions"]
    if isinstance(actions, list):
        return actions
    values = {name: value for block in parse_dir(MODULES / module).get("locals", []) for name, value in block.items()}
    return [action for name in re.findall(r"local\.(\w+)", actions) for action in unquote(values[name])]


def statements_allowing(module: str, document: str, action: str) -> list[dict]:
    return [statement for statement in policy_statements(module, document).values()
            if action in statement_actions(module, statement)]


def workflow_jobs(project: Path, purpose: str) -> dict[str, dict]:
    return yaml.safe_load((project / ".github" / "workflows" / f"klausapproves-{purpose}.yml").read_text())["jobs"]


def aws_cli_actions(job: dict, service: str) -> set[str]:
    """IAM actions of the ``aws <service> <verb>`` calls of a job's run steps (describe-images -> ecr:DescribeImages)."""
    actions = set()
    for step in job.get("steps", []):
        for verb in re.findall(rf"\baws {service} ([a-z-]+)", step.get("run", "")):
            actions.add(f"{service}:" + "".join(part.capitalize() for part in verb.split("-")))
    return actions


def assumed_role(job: dict) -> str:
    roles = [step["with"]["role-to-assume"] for step in job.get("steps", [])
             if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
    return roles[0] if roles else ""


def test_deploy_roles_may_describe_images_in_the_shared_repository(seed_project: Path) -> None:
    """Finding 1: deploy and rollback check the image with `aws ecr describe-images` using
    the environment's deploy role, against the repository in the tooling account."""
    conventions = terraform.conventions(SEED)
    # Every ECR call a deploy-role job makes is allowed by the deploy role's own policy...
    ecr_calls = set()
    for purpose in ("deploy", "rollback"):
        for job in workflow_jobs(seed_project, purpose).values():
            if assumed_role(job).endswith("-deploy"):
                ecr_calls |= aws_cli_actions(job, "ecr")
    assert "ecr:DescribeImages" in ecr_calls, "the rollback workflow checks the image with the deploy role"
    for action in ecr_calls:
        (statement,) = statements_allowing("ecs-service", "deploy", action)
        assert statement["resources"] == ["${var.image_repository_arn}"]
        # ...and, the repository being in another account, by its repository policy.
        (granted,) = statements_allowing("ecr-repository", "access", action)
        (condition,) = granted["condition"]
        assert (condition["test"], condition["variable"], condition["values"]) == (
            "ArnEquals", "aws:PrincipalArn", "${var.deploy_role_arns}")
    calls = module_blocks(emitted(SEED))
    assert calls["klausapproves_ecr"]["deploy_role_arns"] == [
        conventions["environments"][env]["deploy_role_arn"] for env in SEED["environments"]]
    arn = calls["klausapproves_pre"]["image_repository_arn"]
    assert arn == "arn:aws:ecr:us-east-1:444444444444:repository/klausapproves"
    assert conventions["image_repository"] == (
        f"{arn.split(':')[4]}.dkr.ecr.{arn.split(':')[3]}.amazonaws.com/{arn.split('/', 1)[1]}")


def test_the_push_role_may_pull_every_platform_image_the_dockerfile_builds_from(seed_project: Path) -> None:
    """Finding 3: the Dockerfile's first stage is the build image, not the runtime image."""
    arguments = dict(re.findall(r"^ARG (\w+)=(\S+)$", (seed_project / "Dockerfile").read_text(), re.M))
    stages = re.findall(r"^FROM \$\{(\w+)\}", (seed_project / "Dockerfile").read_text(), re.M)
    assert stages == ["BUILD_IMAGE", "BASE_IMAGE"]
    pulled = module_blocks(emitted(SEED))["klausapproves_ecr"]["base_image_repositories"]
    for stage in stages:
        assert terraform.image_repository_name(arguments[stage]) in pulled, f"the push role cannot pull {stage}"
    assert pulled == [terraform.image_repository_name(SETTINGS[key]) for key in ("build_image", "base_image")]
    (statement,) = [statement for statement in statements_allowing("ecr-repository", "push", "ecr:BatchGetImage")
                    if "var.base_image_repositories" in str(statement["resources"])]
    assert set(statement_actions("ecr-repository", statement)) == {
        "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
    elsewhere = {**SETTINGS, "build_image": "docker.io/library/gradle:8"}
    with pytest.raises(ValueError, match="build_image"):
        terraform.base_image_repositories(elsewhere)


def test_the_deploy_role_may_create_only_the_ecs_scaling_service_linked_role() -> None:
    """Finding 5: the first RegisterScalableTarget in a fresh account creates this role."""
    (statement,) = statements_allowing("ecs-service", "deploy", "iam:CreateServiceLinkedRole")
    assert statement["actions"] == ["iam:CreateServiceLinkedRole"]
    (resource,) = statement["resources"]
    assert resource.endswith(":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
                             "AWSServiceRoleForApplicationAutoScaling_ECSService")
    assert "*" not in resource
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "StringEquals", "iam:AWSServiceName", ["ecs.application-autoscaling.amazonaws.com"])


def required_providers(module: str) -> dict[str, dict]:
    """name -> {source, version} a module requires in its versions.tf."""
    (block,) = parse_dir(MODULES / module)["terraform"]
    return {name: unquote(body) for entry in block.get("required_providers", []) for name, body in entry.items()
            if name != "__is_block__"}


def providers_needed(module: str) -> set[str]:
    """Providers a module's resources and data sources use, its nested modules' included."""
    tf = parse_dir(MODULES / module)
    kinds = {unquote(kind) for section in ("resource", "data") for block in tf.get(section, []) for kind in block}
    needed = {kind.split("_", 1)[0] for kind in kinds}
    for body in module_blocks(tf).values():
        needed |= providers_needed(body["source"].removeprefix("../"))
    return needed


def provider_names(mapping: dict) -> dict[str, str]:
    """``{"aws": "${aws.pre}"}`` -> ``{"aws": "aws.pre"}``."""
    return {key: re.sub(r"^\$\{(.*)\}$", r"\1", value) for key, value in mapping.items()}


@pytest.mark.parametrize("case", ANSWER_SETS)
def test_every_module_call_passes_every_provider_its_modules_use(case: str) -> None:
    """Finding 4: a `providers` map replaces inheritance, so the dashboard nested in
    ecs-service got no Datadog provider when the root passed only aws."""
    tf = emitted(ANSWER_SETS[case])
    root = {name: unquote(body) for block in tf["terraform"] for entry in block["required_providers"]
            for name, body in entry.items() if name != "__is_block__"}
    for label, body in module_blocks(tf).items():
        module = body["source"].split("/modules/", 1)[1].split("?", 1)[0]
        needed = providers_needed(module)
        passed = provider_names(body["providers"])
        assert set(passed) == needed, f"{label} passes {sorted(passed)}, its modules use {sorted(needed)}"
        for name in needed:
            assert passed[name].split(".")[0] == name
            assert required_providers(module).get(name) == root[name], f"{module} and the root disagree on {name}"
    assert {name: (body["source"], body["version"]) for name, body in root.items()} == terraform.PROVIDERS
    # Inside the modules too: every nested call names every provider its module needs.
    for folder in sorted(path for path in MODULES.iterdir() if path.is_dir()):
        assert providers_needed(folder.name) <= set(required_providers(folder.name)), folder.name
        for label, body in module_blocks(parse_dir(folder)).items():
            nested = body["source"].removeprefix("../")
            assert set(provider_names(body.get("providers", {}))) == providers_needed(nested), f"{folder.name}: {label}"
            for name in providers_needed(nested):
                assert required_providers(nested)[name] == required_providers(folder.name)[name]



def github_calls(answers: dict[str, Any]) -> dict[str, dict]:
    return {label.removeprefix(f"{answers['service_name']}_").removesuffix("_github"): body
            for label, body in module_blocks(emitted(answers)).items() if label.endswith("_github")}


def test_github_environments_admit_only_the_refs_that_deploy_and_approval_needs_an_owner(seed_project: Path) -> None:
    """Finding 2: the deploy roles trust any job in the GitHub environment `<env>`; Terraform
    now manages those environments, so nothing but the deploying refs (and reviewers) gets in."""
    calls = github_calls(ANSWER_SETS["all-envs"])
    assert list(calls) == list(SETTINGS["environments"])
    for env, body in calls.items():
        assert body["source"].endswith("/github-environment?ref=" + SETTINGS["terraform"]["module_version"])
        assert provider_names(body["providers"]) == {"github": "github"}
        assert (body["repository"], body["environment"], body["manage_environment"]) == ("klausapproves", env, True)
    assert (calls["pre"]["branch_patterns"], calls["pre"]["tag_patterns"], calls["pre"]["reviewers"]) == (
        ["develop"], [], [])
    assert (calls["qa"]["branch_patterns"], calls["qa"]["tag_patterns"], calls["qa"]["reviewers"]) == (
        ["develop"], [], [])
    # prod: release tags, and develop for the rollback workflow, behind the owners' approval.
    assert (calls["prod"]["branch_patterns"], calls["prod"]["tag_patterns"]) == (
        [SETTINGS["rollback_branch"]], ["v*.*.*"])
    assert calls["prod"]["reviewers"] == ["klaus", "ana-ops"]

    # The patterns are the deploy workflow's triggers; rollback is dispatched by hand.
    workflows = seed_project / ".github" / "workflows"
    deploy = yaml.safe_load((workflows / "klausapproves-deploy.yml").read_text())
    push = deploy[True]["push"]  # PyYAML reads the key `on` as True
    seed_calls = github_calls(SEED)
    assert sorted({p for body in seed_calls.values() for p in body["tag_patterns"]}) == push["tags"]
    deploy_branches = {body["branch_patterns"][0] for env, body in seed_calls.items()
                       if SETTINGS["environments"][env]["deploy_on"].startswith("branch:")}
    assert sorted(deploy_branches) == push["branches"]
    rollback = yaml.safe_load((workflows / "klausapproves-rollback.yml").read_text())
    assert set(rollback[True]) == {"workflow_dispatch"}
    for job in rollback["jobs"].values():
        env = job["environment"]["name"]
        assert SETTINGS["rollback_branch"] in seed_calls[env]["branch_patterns"], f"rollback cannot run in {env}"

    # The module: custom policies only, one policy per pattern, reviewers by numeric id, no self-review.
    kinds = {(kind, name): body for kind, name, body in resources("github-environment")}
    environment = kinds[("github_repository_environment", "this")]
    assert environment["deployment_branch_policy"] == [{"protected_branches": False, "custom_branch_policies": True}]
    assert environment["prevent_self_review"] == "${length(var.reviewers) > 0}"
    (reviewers,) = environment["dynamic"]
    assert "data.github_user.reviewer[login].id" in str(reviewers)
    assert kinds[("github_repository_environment_deployment_policy", "branch")]["branch_pattern"] == "${each.value}"
    assert kinds[("github_repository_environment_deployment_policy", "tag")]["tag_pattern"] == "${each.value}"
    users = [named['"reviewer"'] for block in parse_dir(MODULES / "github-environment")["data"]
             for kind, named in block.items() if kind == '"github_user"']
    assert users and users[0]["username"] == "${each.value}"

    # The root configures the provider for the platform's organisation, token from the environment.
    tf = emitted(SEED)
    (github,) = [unquote(body) for block in tf["provider"] for name, body in block.items() if name == '"github"']
    assert github == {"owner": SETTINGS["github_org"]}
    assert required_providers("github-environment")["github"]["source"] == "integrations/github"
    assert required_providers("github-environment")["github"]["version"].startswith("~> 6.")


def test_a_second_service_adds_its_own_release_tags_to_the_repositorys_environments() -> None:
    second = seed_answers(service_name="approvals", service_path="approvals")
    calls = github_calls(second)
    for env, body in calls.items():
        assert body["manage_environment"] is False, "the repository's first service owns its environments"
        assert body["branch_patterns"] == [] and body["reviewers"] == []
    assert calls["prod"]["tag_patterns"] == ["approvals/v*.*.*"] and calls["pre"]["tag_patterns"] == []
    # A missing environment fails the plan (a deploy job would otherwise create it unprotected).
    (existing,) = [named['"existing"'] for block in parse_dir(MODULES / "github-environment")["data"]
                   for kind, named in block.items() if kind == '"github_repository_environments"']
    (postcondition,) = existing["lifecycle"][0]["postcondition"]
    assert "var.environment" in postcondition["condition"] and "self.environments" in postcondition["condition"]


def test_the_execution_role_reads_the_datadog_key_only_when_the_platform_runs_the_agent() -> None:
    import copy

    calls = module_blocks(emitted(ANSWER_SETS["seed"]))
    assert unquote(calls["klausapproves_prod"]["datadog_api_key_secret_arn"]) == ""
    settings = copy.deepcopy(dict(SETTINGS))
    settings["datadog_agent"] = {**settings["datadog_agent"], "enabled": True}
    enabled = hcl2.loads(terraform.service_files(ANSWER_SETS["seed"], settings)["main.tf"])
    arn = unquote(module_blocks(enabled)["klausapproves_prod"]["datadog_api_key_secret_arn"])
    assert arn == naming.service_conventions("klausapproves", ["prod"], settings=settings)[
        "environments"]["prod"]["datadog_api_key_secret_arn"]
    iam = (MODULES / "ecs-service" / "iam.tf").read_text()
    assert 'for_each = var.datadog_api_key_secret_arn == "" ? [] : [var.datadog_api_key_secret_arn]' in iam
