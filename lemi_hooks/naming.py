"""Every name lemi derives from a service, in one place.

The template, the Terraform emitter, the workflows and the vendored renderer
(through the ``.lemi/conventions.json`` the template renders from
:func:`service_conventions`) all take names from here, so a convention changes
in one place and reaches services through ``copier update``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from . import platform as platform_settings

# AWS limits on the names lemi derives (characters).
TARGET_GROUP_NAME_MAX = 32
IAM_ROLE_NAME_MAX = 64
ECS_NAME_MAX = 255
SECURITY_GROUP_NAME_MAX = 255
DNS_LABEL_MAX = 63
# AWS's default quota of security groups on one network interface: a task's ENI carries
# its own group plus one `-clients` group per dependency.
SECURITY_GROUPS_PER_ENI = 5

# The Fargate task sizes AWS accepts: CPU units -> valid memory sizes (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

_CPU_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$", re.IGNORECASE)
_MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$", re.IGNORECASE)


def cpu_units(value: Any) -> int | None:
    """CPU in ECS units from AWS's formats (``256``, ``"0.25 vCPU"``, ``"1 vCPU"``); None if unreadable."""
    match = _CPU_PATTERN.match(str(value))
    if not match:
        return None
    number = float(match.group(1))
    units = number * 1024 if match.group(2) else number
    return int(units) if units == int(units) else None


def memory_mib(value: Any) -> int | None:
    """Memory in MiB from AWS's formats (``512``, ``"1 GB"``, ``"0.5GB"``); None if unreadable."""
    match = _MEMORY_PATTERN.match(str(value))
    if not match:
        return None
    number = float(match.group(1))
    unit = (match.group(2) or "mib").lower()
    mib = number * 1024 if unit in ("gb", "gib") else number
    return int(mib) if mib == int(mib) else None


# Reserved words and literals a Java package segment may not be.
JAVA_RESERVED = frozenset("""
    abstract assert boolean break byte case catch char class const continue default do double else enum
    extends final finally float for goto if implements import instanceof int interface long native new
    package private protected public return short static strictfp super switch synchronized this throw
    throws transient try void volatile while true false null _ var record yield sealed permits
""".split())


def java_package(service_name: str) -> str:
    """The Java package of a service: ``me.lemon.<name without dashes>`` (``new`` -> ``new_``)."""
    identifier = re.sub(r"[^a-z0-9]", "", service_name.lower())
    if not identifier or identifier[0].isdigit():
        identifier = "svc" + identifier
    if identifier in JAVA_RESERVED:
        identifier += "_"
    return f"me.lemon.{identifier}"


def java_class_prefix(service_name: str) -> str:
    """CamelCase class-name prefix: ``klaus-approves`` -> ``KlausApproves``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^a-z0-9]+", service_name.lower()) if part)


def env_variable_name(name: str) -> str:
    """An environment-variable name for a dependency: ``klausapproves-rds`` -> ``KLAUSAPPROVES_RDS``."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper())


def clients_security_group(name: str) -> str:
    """The security group other resources join to reach ``name`` (seed: ``bpg-clients``)."""
    return f"{name}-clients"


def internal_host(service_name: str, env: str, settings: dict | None = None) -> str:
    settings = settings or platform_settings.settings()
    return f"{service_name}.{env}.{settings['internal_zone']}"


def external_host(service_name: str, env: str, domain: str = "", settings: dict | None = None) -> str:
    """The public host: the service's own domain in production, the convention elsewhere."""
    settings = settings or platform_settings.settings()
    if domain and env == settings.get("custom_domain_environment", "prod"):
        return domain
    return f"{service_name}.{env}.{settings['base_domain']}"


# Datastores whose purpose names one of these are caches: reported by /health but
# not failing it (seed: "a database might be required but a cache might not").
OPTIONAL_DATASTORE_WORDS = ("cache", "redis", "elasticache", "memcached", "valkey")
CACHE_PORT = 6379
DATABASE_PORT = 5432


def dependency_endpoints(
    env: str,
    service_dependencies: Iterable[str] = (),
    datastore_dependencies: Iterable[str] = (),
    settings: dict | None = None,
) -> list[dict[str, Any]]:
    """How a service reaches and health-checks each dependency in ``env``.

    Services are reached through the internal load balancer on their internal
    host; datastores on ``<name>.<env>.<internal_zone>``, the DNS name the infra
    repository gives every static resource.
    """
    endpoints = []
    for name in service_dependencies:
        host = internal_host(name, env, settings)
        endpoints.append({
            "name": name, "kind": "service", "env_prefix": env_variable_name(name),
            "host": host, "port": 80, "url": f"http://{host}", "health_url": f"http://{host}/health",
            "required": True,
        })
    for name in datastore_dependencies:
        host = internal_host(name, env, settings)
        optional = any(word in name.split("-")[1:] for word in OPTIONAL_DATASTORE_WORDS)
        port = CACHE_PORT if optional else DATABASE_PORT
        endpoints.append({
            "name": name, "kind": "datastore", "env_prefix": env_variable_name(name),
            "host": host, "port": port, "url": f"tcp://{host}:{port}", "health_url": f"tcp://{host}:{port}",
            "required": not optional,
        })
    return endpoints


def target_group_name(service_name: str, env: str) -> str:
    return f"{service_name}-{env}"


def role_names(service_name: str, env: str) -> dict[str, str]:
    return {
        "execution": f"{service_name}-{env}-execution",
        "task": f"{service_name}-{env}-task",
        "deploy": f"{service_name}-{env}-deploy",
    }


def ecr_push_role_name(service_name: str) -> str:
    """The role CI assumes in the shared ECR account to push the service's images."""
    return f"{service_name}-ecr-push"


def derived_names(service_name: str, environments: Iterable[str]) -> list[tuple[str, str, int]]:
    """Every length-limited AWS name derived from the service: (what, name, limit)."""
    names = [
        ("security group", clients_security_group(service_name), SECURITY_GROUP_NAME_MAX),
        ("IAM ECR push role", ecr_push_role_name(service_name), IAM_ROLE_NAME_MAX),
        ("DNS label", service_name, DNS_LABEL_MAX),
        ("ECS service", service_name, ECS_NAME_MAX),
    ]
    for env in environments:
        names.append(("target group", target_group_name(service_name, env), TARGET_GROUP_NAME_MAX))
        for kind, role in role_names(service_name, env).items():
            names.append((f"IAM {kind} role", role, IAM_ROLE_NAME_MAX))
    return names


def max_service_name_length(environments: Iterable[str] | None = None) -> int:
    """The longest service name whose derived names all fit AWS's limits in these
    environments (default: every environment the platform supports, so adding one
    later never breaks a name)."""
    envs = list(environments) if environments is not None else platform_settings.allowed_environments()
    # Every derived name is the service name plus a fixed affix, so one probe tells each budget.
    return min(limit - (len(name) - 1) for _, name, limit in derived_names("x", envs))


def service_conventions(
    service_name: str,
    environments: Iterable[str],
    *,
    external: bool = False,
    domain: str = "",
    service_dependencies: Iterable[str] = (),
    datastore_dependencies: Iterable[str] = (),
    repository: str = "",
    settings: dict | None = None,
) -> dict[str, Any]:
    """All conventional names of a service, per environment.

    Rendered into every service as ``.lemi/conventions.json`` for the vendored
    tool, and used by the workflows and the Terraform emitter.
    """
    settings = settings or platform_settings.settings()
    region = settings["aws_region"]
    registry = f"{settings['ecr_account_id']}.dkr.ecr.{region}.amazonaws.com"
    envs: dict[str, Any] = {}
    for env in environments:
        env_settings = settings["environments"][env]
        account = str(env_settings["aws_account_id"])
        roles = role_names(service_name, env)
        envs[env] = {
            "name": env,
            "aws_account_id": account,
            "aws_region": region,
            "cluster": settings["cluster_name"].format(env=env),
            "ecs_service": service_name,
            "task_family": f"{service_name}-{env}",
            "container_name": service_name,
            "log_group": f"/ecs/{service_name}/{env}",
            "internal_host": internal_host(service_name, env, settings),
            "external_host": external_host(service_name, env, domain, settings) if external else "",
            "target_group": target_group_name(service_name, env),
            "execution_role_arn": f"arn:aws:iam::{account}:role/{roles['execution']}",
            "task_role_arn": f"arn:aws:iam::{account}:role/{roles['task']}",
            "deploy_role_arn": f"arn:aws:iam::{account}:role/{roles['deploy']}",
            "secret_name_prefix": f"{service_name}/{env}/",
            "secret_arn_prefix": f"arn:aws:secretsmanager:{region}:{account}:secret:",
            "datadog_api_key_secret_arn": (
                f"arn:aws:secretsmanager:{region}:{account}:secret:{settings['datadog_agent']['api_key_secret']}"
            ),
            "deploy_on": env_settings["deploy_on"],
            "approval": bool(env_settings.get("approval", False)),
            "dependencies": dependency_endpoints(env, service_dependencies, datastore_dependencies, settings),
        }
    return {
        "service": service_name,
        "repository": repository or service_name,
        "aws_region": region,
        "ecr_registry": registry,
        "ecr_repository": service_name,
        "image_repository": f"{registry}/{service_name}",
        "ecr_push_role_arn": f"arn:aws:iam::{settings['ecr_account_id']}:role/{ecr_push_role_name(service_name)}",
        "base_image": settings["base_image"],
        "build_image": settings["build_image"],
        "clients_security_group": clients_security_group(service_name),
        "dependency_security_groups": [
            clients_security_group(name) for name in [*service_dependencies, *datastore_dependencies]
        ],
        "internal_zone": settings["internal_zone"],
        "base_domain": settings["base_domain"],
        "datadog_site": settings["datadog_site"],
        "datadog_agent": {"enabled": bool(settings["datadog_agent"]["enabled"]),
                          "image": settings["datadog_agent"]["image"]},
        # The module pin of the template version the service is on: `lemi infra-pr`, whatever
        # lemi is installed, proposes the modules this version of the service was made for.
        "terraform_module_source": settings["terraform"]["module_source"],
        "terraform_module_version": settings["terraform"]["module_version"],
        # The vendored tool checks owners' later edits of spec.resources against these.
        "fargate_sizes": {str(cpu): list(memories) for cpu, memories in FARGATE_SIZES.items()},
        "http_port": 8080,
        "metrics_port": 9090,
        "health_path": "/health",
        "metrics_path": "/metrics",
        "environments": envs,
    }
