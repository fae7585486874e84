"""The rules for every answer, in one place.

copier.yml's validators call :func:`check` through the Jinja extension and the
``lemi`` CLI calls :func:`check_all` before it runs Copier, so both enforce the
same rules. Every check returns ``""`` when the answer is fine, or one line that
names the question and the rule it breaks.

Answers end up in YAML, HCL, JSON, shell, Java and GitHub expressions, so the
rules are allow-lists: anything outside them (quotes, ``$(...)``, ``../``,
whitespace, a leading ``-``) is rejected here, and every output escapes anyway.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Mapping

from . import naming
from .answers import DEFAULT_ANSWERS_FILE, service_name_in
from . import platform as platform_settings

# A DNS label made of lowercase letters, digits and single dashes, starting with a letter.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
# A static-infra resource name: <owner-service>-<purpose> (seed: klausapproves-rds, bpg-aurora).
DATASTORE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")
# GitHub's login rule: alphanumerics and single inner dashes, at most 39 characters.
GITHUB_LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
DOMAIN_LABEL_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
GITHUB_REPO_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
GIT_URL_PATTERN = re.compile(
    r"^(?:(?:https?|ssh|git|file)://[A-Za-z0-9._~:@%/+-]+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[A-Za-z0-9._~/+-]+)$"
)
LOCAL_PATH_PATTERN = re.compile(r"^[A-Za-z0-9._/~+-]+$")
SERVICE_PATH_PATTERN = re.compile(r"^(?:\.|[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*)$")
MAX_AUTOSCALING = 1000
# GitHub's limit on an environment's required reviewers: the owners approve prod deploys.
MAX_OWNERS = 6


def _name_problem(question: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        return f"{question}: a name is required"
    if not NAME_PATTERN.match(value):
        return (
            f"{question}: {value!r} is not DNS-label safe: use lowercase letters, digits and single dashes, "
            "starting with a letter"
        )
    limit = naming.max_service_name_length()
    if len(value) > limit:
        longest = max(
            (entry for entry in naming.derived_names(value, platform_settings.allowed_environments())
             if len(entry[1]) > entry[2]),
            key=lambda entry: len(entry[1]) - entry[2],
        )
        return (
            f"{question}: {value!r} is too long: the {longest[0]} name {longest[1]!r} would be "
            f"{len(longest[1])} characters, AWS allows {longest[2]} (use at most {limit} characters)"
        )
    return ""


def check_repository(value: Any, answers: Mapping[str, Any]) -> str:
    if not isinstance(value, str) or not value:
        return "repository: the Git repository's name is required"
    if not NAME_PATTERN.match(value):
        return (
            f"repository: {value!r} must be lowercase letters, digits and single dashes, starting with a letter "
            "(service names start with it and must be DNS-label safe)"
        )
    return ""


def check_service_name(value: Any, answers: Mapping[str, Any]) -> str:
    problem = _name_problem("service_name", value)
    if problem:
        return problem
    repository = answers.get("repository")
    if isinstance(repository, str) and repository and not value.startswith(repository):
        return f"service_name: {value!r} must start with the repository name {repository!r}"
    return ""


def check_owners(value: Any, answers: Mapping[str, Any]) -> str:
    if not isinstance(value, list) or not value:
        return "owners: give at least one GitHub login, as a list (e.g. [alice, bob])"
    for login in value:
        if not isinstance(login, str) or not GITHUB_LOGIN_PATTERN.match(login):
            return f"owners: {login!r} is not a valid GitHub login (letters, digits, single inner dashes, max 39)"
    if len({login.lower() for login in value}) != len(value):
        return "owners: a login is listed twice"
    if len(value) > MAX_OWNERS:
        return (f"owners: {len(value)} logins, but GitHub lets at most {MAX_OWNERS} review a deployment; "
                "list the people who operate the service")
    return ""


def check_environments(value: Any, answers: Mapping[str, Any]) -> str:
    allowed = platform_settings.allowed_environments()
    if not isinstance(value, list) or not value:
        return f"environments: choose at least one of {', '.join(allowed)}"
    for env in value:
        if env not in allowed:
            return f"environments: {env!r} is not an environment the infra team supports ({', '.join(allowed)})"
    if len(set(value)) != len(value):
        return "environments: an environment is listed twice"
    return ""


def check_service_dependencies(value: Any, answers: Mapping[str, Any]) -> str:
    if not isinstance(value, list):
        return "service_dependencies: give a list of service names (e.g. [bpg])"
    for name in value:
        problem = _name_problem("service_dependencies", name)
        if problem:
            return problem
        if name == answers.get("service_name"):
            return f"service_dependencies: {name!r} is this service itself"
    if len(set(value)) != len(value):
        return "service_dependencies: a service is listed twice"
    return ""


def check_datastore_dependencies(value: Any, answers: Mapping[str, Any]) -> str:
    if not isinstance(value, list):
        return "datastore_dependencies: give a list of names (e.g. [klausapproves-rds])"
    for name in value:
        if not isinstance(name, str) or not DATASTORE_PATTERN.match(name):
            return (
                f"datastore_dependencies: {name!r} does not follow <owner-service>-<purpose> "
                "(lowercase, e.g. klausapproves-rds)"
            )
        if len(name) > 63:
            return f"datastore_dependencies: {name!r} is longer than AWS's 63-character identifiers"
    if len(set(value)) != len(value):
        return "datastore_dependencies: a datastore is listed twice"
    services = answers.get("service_dependencies")
    total = len(value) + (len(services) if isinstance(services, list) else 0)
    limit = naming.SECURITY_GROUPS_PER_ENI - 1
    if total > limit:
        return (f"datastore_dependencies: {total} dependencies in all, but a task joins at most {limit} "
                f"'-clients' security groups (AWS allows {naming.SECURITY_GROUPS_PER_ENI} per network interface, "
                "one is the service's own)")
    return ""


def check_domain(value: Any, answers: Mapping[str, Any]) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or len(value) > 253:
        return "domain: must be a host name of at most 253 characters"
    labels = value.split(".")
    if len(labels) < 2 or not all(DOMAIN_LABEL_PATTERN.match(label) for label in labels) or not labels[-1].isalpha():
        return f"domain: {value!r} is not a valid lowercase fully qualified domain name (e.g. svc.lemon.me)"
    return ""


def check_external(value: Any, answers: Mapping[str, Any]) -> str:
    if not isinstance(value, bool):
        return "external: answer true or false"
    if answers.get("domain") and not value:
        return "external: a service with a public domain must be external"
    return ""


def check_cpu(value: Any, answers: Mapping[str, Any]) -> str:
    units = naming.cpu_units(value)
    if units is None or units not in naming.FARGATE_SIZES:
        valid = ", ".join(str(cpu) for cpu in naming.FARGATE_SIZES)
        return f"cpu: {value!r} is not a Fargate CPU size (units {valid}, or e.g. '0.25 vCPU', '1 vCPU')"
    return ""


def check_memory(value: Any, answers: Mapping[str, Any]) -> str:
    mib = naming.memory_mib(value)
    if mib is None:
        return f"memory: {value!r} is not a memory size (MiB like 512, or e.g. '1 GB')"
    units = naming.cpu_units(answers.get("cpu", ""))
    if units in naming.FARGATE_SIZES and mib not in naming.FARGATE_SIZES[units]:
        return (
            f"memory: {value!r} is not valid with cpu {answers.get('cpu')!r} on Fargate "
            f"(allowed: {_describe_sizes(naming.FARGATE_SIZES[units])} MiB)"
        )
    return ""


def _describe_sizes(sizes: tuple[int, ...]) -> str:
    if len(sizes) <= 4:
        return ", ".join(str(size) for size in sizes)
    return f"{sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"


def check_autoscaling_resource(value: Any, answers: Mapping[str, Any]) -> str:
    if value not in ("cpu", "memory"):
        return f"autoscaling_resource: {value!r} must be cpu or memory"
    return ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_autoscaling_min(value: Any, answers: Mapping[str, Any]) -> str:
    if not _is_int(value) or value < 1:
        return f"autoscaling_min: {value!r} must be a whole number of at least 1"
    if value > MAX_AUTOSCALING:
        return f"autoscaling_min: {value} is more than {MAX_AUTOSCALING} tasks"
    return ""


def check_autoscaling_max(value: Any, answers: Mapping[str, Any]) -> str:
    if not _is_int(value) or value < 1:
        return f"autoscaling_max: {value!r} must be a whole number of at least 1"
    minimum = answers.get("autoscaling_min")
    if _is_int(minimum) and value < minimum:
        return f"autoscaling_max: {value} is less than autoscaling_min ({minimum})"
    if value > MAX_AUTOSCALING:
        return f"autoscaling_max: {value} is more than {MAX_AUTOSCALING} tasks"
    return ""


def check_autoscaling_target(value: Any, answers: Mapping[str, Any]) -> str:
    if not _is_int(value) or not 1 <= value <= 100:
        return f"autoscaling_target: {value!r} must be a whole percentage from 1 to 100"
    return ""


def check_infra_repo(value: Any, answers: Mapping[str, Any]) -> str:
    if value in ("", None):
        return ""
    if not isinstance(value, str) or value.startswith("-") or not value.isprintable():
        return "infra_repo: must be a git URL, owner/name on GitHub, or a local path"
    if GITHUB_REPO_PATTERN.match(value) or GIT_URL_PATTERN.match(value):
        return ""
    if LOCAL_PATH_PATTERN.match(value):
        return ""
    return f"infra_repo: {value!r} is not a git URL, owner/name on GitHub, or a local path"


def check_service_path(value: Any, answers: Mapping[str, Any]) -> str:
    if not isinstance(value, str) or not SERVICE_PATH_PATTERN.match(value) or ".." in value.split("/"):
        return f"service_path: {value!r} must be '.' or a relative folder inside the repository (no '..')"
    return _second_service_problem(value, answers)


def _second_service_problem(service_path: str, answers: Mapping[str, Any]) -> str:
    """A repository that already holds another service takes a new one only in its own folder,
    with its own answers file: otherwise the first service's answers (and files) are clobbered."""
    destination = answers.get("destination")
    if not destination:
        return ""
    existing = service_name_in(Path(str(destination)))
    name = answers.get("service_name")
    if not existing or existing == name:
        return ""
    own_answers_file = f"{service_path}/{DEFAULT_ANSWERS_FILE}"
    if service_path != "." and str(answers.get("answers_file") or DEFAULT_ANSWERS_FILE) == own_answers_file:
        return ""
    folder = name or "<service>"
    return (f"service_path: this repository already holds {existing!r}; give {folder!r} its own folder and "
            f"answers file: copier copy --trust -a {folder}/{DEFAULT_ANSWERS_FILE} --data service_path={folder} "
            "... (or use lemi new service, which does this)")


CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "repository": check_repository,
    "service_name": check_service_name,
    "service_path": check_service_path,
    "owners": check_owners,
    "environments": check_environments,
    "service_dependencies": check_service_dependencies,
    "datastore_dependencies": check_datastore_dependencies,
    "domain": check_domain,
    "external": check_external,
    "cpu": check_cpu,
    "memory": check_memory,
    "autoscaling_resource": check_autoscaling_resource,
    "autoscaling_min": check_autoscaling_min,
    "autoscaling_max": check_autoscaling_max,
    "autoscaling_target": check_autoscaling_target,
    "infra_repo": check_infra_repo,
}


def check(question: str, value: Any, answers: Mapping[str, Any] | None = None) -> str:
    """The problem with one answer, or "" when it is fine."""
    return CHECKS[question](value, answers or {})


def check_all(answers: Mapping[str, Any]) -> list[str]:
    """The problems with the given answers, in question order (only questions present are checked)."""
    return [problem for question, rule in CHECKS.items() if question in answers
            for problem in [rule(answers[question], answers)] if problem]
