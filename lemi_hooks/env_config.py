"""The per-environment configuration files, ``deploy/<env>/config.yaml``.

They hold the owners' values, so lemi writes one only when it is missing (a new
service, or an environment added on update) and never touches it afterwards.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_TEMPLATE = """\
# {env} configuration of {service}.
#
# spec.environment in deploy/service.yaml references these by key, e.g.
#   value: '{{{{ .Variables["featureFlag"] }}}}'
# and .lemi/render_taskdef.py resolves them when CI deploys to {env}.
#
# variables: plain values, committed to Git. Never put a credential here.
# secrets:   references to AWS Secrets Manager as <secret name or ARN>.<json field>;
#            a name is looked up in this environment's account. The secret's value
#            never appears in this repository.
variables: []
#  - key: featureFlag
#    value: "false"
secrets: []
#  - key: apiKey
#    value: {service}/{env}/api.api_key
"""


def config_path(service_root: Path, env: str) -> Path:
    return Path(service_root) / "deploy" / env / "config.yaml"


def write_missing(service_root: Path, service: str, environments: list[str]) -> list[Path]:
    """Create the config of every environment that has none; return what was created."""
    created = []
    for env in environments:
        path = config_path(service_root, env)
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CONFIG_TEMPLATE.format(env=env, service=service), encoding="utf-8")
        created.append(path)
    return created
