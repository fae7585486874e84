"""The Terraform a new service needs in the central infra repository.

``services/<service>/`` holds one root module: providers for each environment's
account, Datadog and GitHub, one ``ecr-repository`` call, and per environment one
call of the infra team's ``ecs-service`` module (``module "<service>_<env>"``) and
one of ``github-environment`` (``module "<service>_<env>_github"``), all pinned to
``terraform.module_version`` from the platform settings. Every argument comes
from the service's answers and :func:`lemi_hooks.naming.service_conventions`;
every string is written through :func:`hcl_string`, so no answer can open an
interpolation or break out of its literal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from . import naming
from . import platform as platform_settings

# Where a service's Terraform lives in the infra repository, and where the
# static-infra convention keeps datastores (one folder per resource, named after it).
SERVICES_DIR = "services"
STATIC_DIR = "static"
GENERATED_FILES = ("main.tf", "README.md")

# The role Terraform assumes in each account, unless the platform settings name one.
DEFAULT_TERRAFORM_ROLE = "terraform"
# The branch the rollback workflow is dispatched from, unless the platform settings name one.
DEFAULT_ROLLBACK_BRANCH = "develop"

# The providers the root requires; the modules' versions.tf pin the same constraints.
AWS_PROVIDER = ("hashicorp/aws", "~> 5.70")
DATADOG_PROVIDER = ("DataDog/datadog", "~> 3.40")
GITHUB_PROVIDER = ("integrations/github", "~> 6.4")
PROVIDERS = {"aws": AWS_PROVIDER, "datadog": DATADOG_PROVIDER, "github": GITHUB_PROVIDER}

# The tag pattern of releases (v1.2.3), as the deploy workflow's trigger spells it.
RELEASE_TAG_PATTERN = "v*.*.*"

_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl_string(value: Any) -> str:
    """A quoted HCL string literal holding exactly ``value``.

    Template openers are doubled (``$${``, ``%%{``) so they stay literal text;
    control characters HCL has no short escape for become ``\\uNNNN``.
    """
    out = []
    for char in str(value):
        if char in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out).replace("${", "$${").replace("%{", "%%{") + '"'


def hcl_value(value: Any, indent: int = 0) -> str:
    """``value`` as an HCL expression, laid out the way ``terraform fmt`` leaves it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return hcl_string(value)
    pad = "  " * (indent + 1)
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        lines = _attribute_lines(value, indent + 1)
        return "{\n" + "\n".join(lines) + "\n" + "  " * indent + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        items = [hcl_value(item, indent + 1) for item in value]
        one_line = "[" + ", ".join(items) + "]"
        if all("\n" not in item for item in items) and len(one_line) + len(pad) < 100:
            return one_line
        return "[\n" + "".join(f"{pad}{item},\n" for item in items) + "  " * indent + "]"
    raise TypeError(f"no HCL form for {type(value).__name__}")


def _attribute_lines(attributes: Mapping[str, Any], indent: int) -> list[str]:
    """``key = value`` lines; consecutive one-line attributes align their ``=``
    like ``terraform fmt``, and a multi-line value stands apart after a blank line."""
    pad = "  " * indent
    rendered = [(key, hcl_value(value, indent)) for key, value in attributes.items()]
    lines: list[str] = []
    run: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(key) for key, _ in run), default=0)
        lines.extend(f"{pad}{key.ljust(width)} = {text}" for key, text in run)
        run.clear()

    for key, text in rendered:
        if "\n" in text:
            flush()
            if lines and lines[-1] != "":
                lines.append("")
            lines.append(f"{pad}{key} = {text}")
            lines.append("")
        else:
            if lines and not run and lines[-1] != "":
                lines.append("")
            run.append((key, text))
    flush()
    while lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass
class ModuleCall:
    """One ``module`` block: label, the infra team's module it calls, its arguments."""

    label: str
    module: str
    arguments: dict[str, Any]
    providers: dict[str, str] = field(default_factory=dict)

    def render(self, source: str) -> str:
        head = [f"  source = {hcl_string(source)}"]
        if self.providers:
            head.append("  providers = {")
            width = max(len(name) for name in self.providers)
            head += [f"    {name.ljust(width)} = {alias}" for name, alias in self.providers.items()]
            head.append("  }")
        body = _attribute_lines(self.arguments, 1)
        return f"module {hcl_string(self.label)} {{\n" + "\n".join(head) + "\n\n" + "\n".join(body) + "\n}\n"


def _is_external(answers: Mapping[str, Any]) -> bool:
    return bool(answers.get("external")) or bool(answers.get("domain"))


def conventions(answers: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    settings = settings or platform_settings.settings()
    return naming.service_conventions(
        answers["service_name"], answers["environments"],
        external=_is_external(answers), domain=answers.get("domain") or "",
        service_dependencies=answers.get("service_dependencies") or [],
        datastore_dependencies=answers.get("datastore_dependencies") or [],
        settings=dict(settings),
    )


def public_zone(host: str, settings: Mapping[str, Any]) -> str:
    """The public Route 53 zone a host's record goes in: the base domain for the
    convention's hosts, the parent domain of a service's own domain otherwise."""
    base = settings["base_domain"]
    if host == base or host.endswith("." + base):
        return base
    return host.split(".", 1)[1] if "." in host else host


def push_refs(environments: Mapping[str, Any]) -> list[str]:
    """The refs whose workflows build images: the deploy branches, and tags when an
    environment deploys releases (a second service's `<name>/v1.2.3` tags included)."""
    refs = set()
    for env in environments.values():
        kind, _, branch = env["deploy_on"].partition(":")
        refs.add(f"refs/heads/{branch}" if kind == "branch" else "refs/tags/*")
    return sorted(refs)


def image_repository_name(image: str) -> str:
    """``platform/java-runtime`` from ``<registry>/platform/java-runtime:21`` (or ``@sha256:...``)."""
    path = image.split("/", 1)[1]
    return path.split("@", 1)[0].rsplit(":", 1)[0]


def base_image_repositories(settings: Mapping[str, Any]) -> list[str]:
    """The platform images a service's Dockerfile builds from, as repositories of the
    shared registry: ``build_image`` (its first stage) and ``base_image`` (the runtime)."""
    registry = f"{settings['ecr_account_id']}.dkr.ecr.{settings['aws_region']}.amazonaws.com/"
    names: list[str] = []
    for key in ("build_image", "base_image"):
        image = str(settings[key])
        if not image.startswith(registry):
            raise ValueError(f"platform setting {key} ({image}) is not in the shared registry {registry}: "
                             "the ECR push role can pull only from there")
        name = image_repository_name(image)
        if name not in names:
            names.append(name)
    return names


def image_repository_arn(conv: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The ARN of the service's image repository in the tooling account."""
    return f"arn:aws:ecr:{conv['aws_region']}:{settings['ecr_account_id']}:repository/{conv['ecr_repository']}"


def is_second_service(answers: Mapping[str, Any]) -> bool:
    """A service in a folder of a repository that already has one (``service_path`` not ``.``)."""
    return str(answers.get("service_path") or ".") not in (".", "./")


def deployment_refs(answers: Mapping[str, Any], env_conventions: Mapping[str, Any],
                    settings: Mapping[str, Any]) -> dict[str, list[str]]:
    """The refs whose workflow runs may use a GitHub environment: ``branch_patterns``,
    ``tag_patterns``.

    ``branch:<name>`` admits that branch; ``semver-tag`` admits release tags (a second
    service's are ``<service>/v1.2.3``: GitHub's ``*`` never matches ``/``). An environment
    with an approval also admits the rollback branch, so the rollback workflow (dispatched
    from it) can run there, behind the reviewers. A second service adds only its own tag
    pattern: the first service's call owns the shared environment and its branches.
    """
    kind, _, branch = env_conventions["deploy_on"].partition(":")
    branches = [branch] if kind == "branch" else []
    tags = [RELEASE_TAG_PATTERN] if kind != "branch" else []
    if env_conventions["approval"]:
        rollback = str(settings.get("rollback_branch") or DEFAULT_ROLLBACK_BRANCH)
        if rollback not in branches:
            branches.append(rollback)
    if is_second_service(answers):
        return {"branch_patterns": [], "tag_patterns": [f"{answers['service_name']}/{tag}" for tag in tags]}
    return {"branch_patterns": branches, "tag_patterns": tags}


def _dependency_kinds(env_conventions: Mapping[str, Any]) -> list[dict[str, str]]:
    kinds = []
    for dependency in env_conventions["dependencies"]:
        if dependency["kind"] == "service":
            kind = "service"
        else:
            kind = "database" if dependency["required"] else "cache"
        kinds.append({"name": dependency["name"], "kind": kind})
    return kinds


def module_calls(answers: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> list[ModuleCall]:
    """The module calls of a service: its image repository, then one per environment."""
    settings = settings or platform_settings.settings()
    conv = conventions(answers, settings)
    service = conv["service"]
    external = _is_external(answers)
    owners = [str(owner) for owner in answers["owners"]]
    envs = conv["environments"]
    github_repository = f"{settings['github_org']}/{answers['repository']}"
    calls = [ModuleCall(
        label=f"{service}_ecr",
        module="ecr-repository",
        providers={"aws": "aws.tooling"},
        arguments={
            "repository_name": conv["ecr_repository"],
            "service_name": service,
            "repository": answers["repository"],
            "owners": owners,
            "github_repository": github_repository,
            "push_refs": push_refs(envs),
            "push_role_name": naming.ecr_push_role_name(service),
            "base_image_repositories": base_image_repositories(settings),
            "pull_role_arns": [env["execution_role_arn"] for env in envs.values()],
            "deploy_role_arns": [env["deploy_role_arn"] for env in envs.values()],
        },
    )]
    for env, env_conv in envs.items():
        roles = naming.role_names(service, env)
        calls.append(ModuleCall(
            label=f"{service}_{env}",
            module="ecs-service",
            # Explicit providers replace inheritance: the nested dashboard needs Datadog.
            providers={"aws": f"aws.{env}", "datadog": "datadog"},
            arguments={
                "service_name": service,
                "environment": env,
                "repository": answers["repository"],
                "github_repository": github_repository,
                "owners": owners,
                "cluster_name": env_conv["cluster"],
                "vpc_name": settings["vpc_name"].format(env=env),
                "internal_alb_name": settings["internal_alb_name"].format(env=env),
                "internal_zone": conv["internal_zone"],
                "internal_host": env_conv["internal_host"],
                "external": external,
                "external_alb_name": settings["external_alb_name"].format(env=env) if external else "",
                "external_zone": public_zone(env_conv["external_host"], settings) if external else "",
                "external_host": env_conv["external_host"],
                "target_group_name": env_conv["target_group"],
                "task_family": env_conv["task_family"],
                "container_name": env_conv["container_name"],
                "log_group": env_conv["log_group"],
                "cpu": naming.cpu_units(answers["cpu"]),
                "memory": naming.memory_mib(answers["memory"]),
                "bootstrap_image": settings["base_image"],
                "http_port": conv["http_port"],
                "metrics_port": conv["metrics_port"],
                "health_check_path": conv["health_path"],
                "execution_role_name": roles["execution"],
                "task_role_name": roles["task"],
                "deploy_role_name": roles["deploy"],
                "image_repository_arn": image_repository_arn(conv, settings),
                "secret_arn_prefix": env_conv["secret_arn_prefix"],
                "secret_name_prefix": env_conv["secret_name_prefix"],
                "datadog_api_key_secret_arn": (env_conv["datadog_api_key_secret_arn"]
                                               if conv["datadog_agent"]["enabled"] else ""),
                "clients_security_group_name": conv["clients_security_group"],
                "dependency_security_groups": conv["dependency_security_groups"],
                "dependencies": _dependency_kinds(env_conv),
            },
        ))
    second = is_second_service(answers)
    for env, env_conv in envs.items():
        calls.append(ModuleCall(
            label=f"{service}_{env}_github",
            module="github-environment",
            providers={"github": "github"},
            arguments={
                "repository": answers["repository"],
                "environment": env,
                "manage_environment": not second,
                **deployment_refs(answers, env_conv, settings),
                "reviewers": owners if env_conv["approval"] and not second else [],
            },
        ))
    return calls


def module_source(module: str, settings: Mapping[str, Any] | None = None,
                  source: str | None = None, version: str | None = None) -> str:
    """``<module_source>/<module>?ref=<module_version>``; a local ``source`` (tests,
    checkov) gets no ref."""
    settings = settings or platform_settings.settings()
    terraform = settings["terraform"]
    base = (source or terraform["module_source"]).rstrip("/")
    if source and not source.startswith(("git::", "https://", "http://", "s3::", "gcs::")):
        return f"{base}/{module}"
    return f"{base}/{module}?ref={version or terraform['module_version']}"


def _providers(answers: Mapping[str, Any], settings: Mapping[str, Any], conv: Mapping[str, Any]) -> str:
    role = settings.get("terraform", {}).get("role_name") or DEFAULT_TERRAFORM_ROLE
    accounts = [("tooling", str(settings["ecr_account_id"]), conv["aws_region"])]
    accounts += [(env, env_conv["aws_account_id"], env_conv["aws_region"]) for env, env_conv in conv["environments"].items()]
    blocks = []
    for alias, account, region in accounts:
        blocks.append(
            'provider "aws" {\n'
            f"  alias  = {hcl_string(alias)}\n"
            f"  region = {hcl_string(region)}\n\n"
            "  assume_role {\n"
            f"    role_arn = {hcl_string(f'arn:aws:iam::{account}:role/{role}')}\n"
            "  }\n"
            "}\n"
        )
    blocks.append(
        "# Credentials from DD_API_KEY and DD_APP_KEY.\n"
        'provider "datadog" {\n'
        f"  api_url = {hcl_string('https://api.' + settings['datadog_site'] + '/')}\n"
        "}\n"
    )
    blocks.append(
        "# Token from GITHUB_TOKEN: administration (read and write) of the service's\n"
        "# repository, which manages its deployment environments.\n"
        'provider "github" {\n'
        f"  owner = {hcl_string(settings['github_org'])}\n"
        "}\n"
    )
    return "\n".join(blocks)


def render_main_tf(answers: Mapping[str, Any], settings: Mapping[str, Any] | None = None, *,
                   source: str | None = None, version: str | None = None) -> str:
    settings = settings or platform_settings.settings()
    conv = conventions(answers, settings)
    service = conv["service"]
    version = version or settings["terraform"]["module_version"]
    header = (
        f"# {service}: the dynamic infrastructure of the service, proposed by lemi.\n"
        f"# Generated from {answers['repository']}'s .copier-answers.yml with the infra team's\n"
        f"# modules at {version}. Regenerate with `lemi infra-pr` in the service's folder\n"
        "# rather than editing by hand: the next run replaces this file.\n"
        "#\n"
        "# The state backend's bucket, region and lock table come from the infra\n"
        "# repository's CI (`terraform init -backend-config=...`).\n"
    )
    terraform_block = (
        "terraform {\n"
        '  required_version = ">= 1.5"\n\n'
        "  required_providers {\n"
        + "".join(
            f"    {name} = {{\n"
            f"      source  = {hcl_string(source)}\n"
            f"      version = {hcl_string(constraint)}\n"
            "    }\n"
            for name, (source, constraint) in PROVIDERS.items()
        )
        + "  }\n\n"
        '  backend "s3" {\n'
        f"    key = {hcl_string(f'{SERVICES_DIR}/{service}/terraform.tfstate')}\n"
        "  }\n"
        "}\n"
    )
    calls = "\n".join(
        call.render(module_source(call.module, settings, source, version))
        for call in module_calls(answers, settings)
    )
    return "\n".join([header, terraform_block, _providers(answers, settings, conv), calls])


def summary(answers: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """What the module calls create, per environment ("shared" for the image repository)."""
    settings = settings or platform_settings.settings()
    conv = conventions(answers, settings)
    service = conv["service"]
    external = _is_external(answers)
    owners = ", ".join(f"`{owner}`" for owner in answers["owners"])
    out: dict[str, list[str]] = {
        "shared": [f"ECR repository `{conv['ecr_repository']}` in the tooling account "
                   f"({settings['ecr_account_id']}): immutable tags, scan on push, pulled by the environments",
                   f"Role `{naming.ecr_push_role_name(service)}` the workflows of "
                   f"`{settings['github_org']}/{answers['repository']}` assume (GitHub OIDC) to push its images"],
    }
    for env, env_conv in conv["environments"].items():
        roles = naming.role_names(service, env)
        joins = ", ".join(f"`{group}`" for group in conv["dependency_security_groups"]) or "none"
        lines = [
            f"ECS service `{service}` on cluster `{env_conv['cluster']}` (account {env_conv['aws_account_id']}): "
            "Fargate, circuit breaker with rollback, ECS Exec on; task definition and task count left to CI",
            f"Target group `{env_conv['target_group']}` on port {conv['http_port']}, health check `{conv['health_path']}`",
            f"Internal: host rule on `{settings['internal_alb_name'].format(env=env)}` and DNS `{env_conv['internal_host']}`",
        ]
        if external:
            lines.append(f"External: host rule on `{settings['external_alb_name'].format(env=env)}`, "
                         f"certificate and DNS `{env_conv['external_host']}`")
        lines += [
            f"Security group `{conv['clients_security_group']}` for clients; the service's own group admits "
            f"port {conv['http_port']} only from the load balancers and `{conv['clients_security_group']}`",
            f"Joins dependency groups: {joins}",
            f"Roles `{roles['execution']}` (reads only secrets `{env_conv['secret_name_prefix']}*`), "
            f"`{roles['task']}`, `{roles['deploy']}` (GitHub OIDC, `{settings['github_org']}/{answers['repository']}`)",
            f"ECS Exec for the owners only ({owners}) through IAM group `{service}-{env}-owners`",
            f"Datadog dashboard `{service} ({env})` with the service and "
            f"{len(env_conv['dependencies'])} dependenc{'y' if len(env_conv['dependencies']) == 1 else 'ies'}",
            f"Log group `{env_conv['log_group']}`",
            _github_environment_line(answers, env, env_conv, settings),
        ]
        out[env] = lines
    return out


def _github_environment_line(answers: Mapping[str, Any], env: str, env_conv: Mapping[str, Any],
                             settings: Mapping[str, Any]) -> str:
    refs = deployment_refs(answers, env_conv, settings)
    deploy_branch = env_conv["deploy_on"].partition(":")[2]
    allowed = [f"branch `{branch}`" + ("" if branch == deploy_branch else " (rollback)")
               for branch in refs["branch_patterns"]]
    allowed += [f"tags `{tag}`" for tag in refs["tag_patterns"]]
    where = f"GitHub environment `{env}` of `{settings['github_org']}/{answers['repository']}`"
    if is_second_service(answers):
        if not allowed:
            return f"{where}: managed by the repository's first service, used as it is"
        return f"{where}: managed by the repository's first service; also admits " + " and ".join(allowed)
    line = f"{where}: only " + " and ".join(allowed) + " may use it"
    if env_conv["approval"]:
        owners = ", ".join(f"`{owner}`" for owner in answers["owners"])
        line += f", after an approval by one of {owners} (not the run's own author)"
    return line


def describe(answers: Mapping[str, Any], settings: Mapping[str, Any] | None = None) -> str:
    """Markdown: what will be created, per environment (the pull request's body, the folder's README)."""
    settings = settings or platform_settings.settings()
    service = answers["service_name"]
    parts = [
        f"Infrastructure for **{service}** (repository `{answers['repository']}`), "
        f"environments: {', '.join(answers['environments'])}.",
        "",
        f"Module calls pin the infra team's modules at `{settings['terraform']['module_version']}`. "
        "Every resource is tagged `service`, `env`, `owners`, `repository`.",
    ]
    for env, lines in summary(answers, settings).items():
        parts += ["", f"### {env}", ""] + [f"- {line}" for line in lines]
    parts += ["", "Generated by lemi; regenerate with `lemi infra-pr` in the service's folder."]
    return "\n".join(parts) + "\n"


def service_files(answers: Mapping[str, Any], settings: Mapping[str, Any] | None = None, *,
                  source: str | None = None, version: str | None = None) -> dict[str, str]:
    """The files of ``services/<service>/``, by name."""
    settings = settings or platform_settings.settings()
    readme = f"# {answers['service_name']}\n\n" + describe(answers, settings)
    return {
        "main.tf": render_main_tf(answers, settings, source=source, version=version),
        "README.md": readme,
    }
