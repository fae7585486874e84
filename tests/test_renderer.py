"""The vendored renderer, .lemi/render_taskdef.py, as CI runs it in a generated service."""

from __future__ import annotations

import functools
import importlib.util
import json
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import validate_parameters
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lemi_hooks import naming

IMAGE = "444444444444.dkr.ecr.us-east-1.amazonaws.com/klausapproves:1a2b3c4"
REF = '{{{{ .Variables["{}"] }}}}'


# ───────────────────────────── helpers ───────────────────────────────────────
def copy_service(seed: Path, dst: Path) -> Path:
    """A writable copy of a rendered service (the session's seed project stays untouched)."""
    return Path(shutil.copytree(seed, dst, ignore=shutil.ignore_patterns(".git", "__pycache__")))


def run_tool(root: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    import os
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env}
    return subprocess.run([sys.executable, f".lemi/{script}", *args], cwd=root, capture_output=True, text=True,
                          env=environment, timeout=60)


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def set_environment(root: Path, entries: list[dict[str, Any]]) -> None:
    edit_yaml(root / "deploy" / "service.yaml", lambda doc: doc["spec"].__setitem__("environment", entries))


def set_config(root: Path, env: str, variables: list | None = None, secrets: list | None = None) -> None:
    (root / "deploy" / env / "config.yaml").write_text(
        yaml.safe_dump({"variables": variables or [], "secrets": secrets or []}, sort_keys=False))


def load_module(root: Path, name: str):
    """A .lemi module of ``root``, imported in-process under a name unique to that copy."""
    spec = importlib.util.spec_from_file_location(f"_lemi_{name}_{abs(hash(str(root)))}", root / ".lemi" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def register_input_shape():
    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


def enum_violations(value: Any, shape, path: str = "") -> list[str]:
    """Values outside the enums of the API model, which botocore's validation does not check."""
    kind = shape.type_name
    if kind == "structure":
        return [v for key, item in value.items() for v in enum_violations(item, shape.members[key], f"{path}.{key}")]
    if kind == "list":
        return [v for i, item in enumerate(value) for v in enum_violations(item, shape.member, f"{path}[{i}]")]
    if kind == "map":
        return [v for key, item in value.items() for v in enum_violations(item, shape.value, f"{path}.{key}")]
    if kind == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        return [f"{path}={value!r}"]
    return []


def assert_registrable(payload: dict[str, Any]) -> None:
    validate_parameters(payload, register_input_shape())  # raises ParamValidationError
    assert enum_violations(payload, register_input_shape()) == []
    container = payload["containerDefinitions"][0]
    assert payload["requiresCompatibilities"] == ["FARGATE"]
    assert payload["networkMode"] == "awsvpc"
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert {m["protocol"] for m in container["portMappings"]} == {"tcp"}


@pytest.fixture
def service(seed_project: Path, tmp_path: Path) -> Path:
    return copy_service(seed_project, tmp_path / "klausapproves")


def with_owner_environment(root: Path, env: str) -> None:
    """The kind of spec.environment and config an owner writes after generating the service."""
    set_environment(root, [
        {"key": "FEATURE_FLAG", "value": REF.format("featureFlag")},
        {"key": "API_KEY", "value": REF.format("apiKey")},
        {"key": "DATABASE_URL", "value": f"jdbc:postgresql://{REF.format('dbHost')}:5432/klausapproves"},
        {"key": "LOG_LEVEL", "value": "INFO"},
    ])
    set_config(root, env,
               variables=[{"key": "featureFlag", "value": False},
                          {"key": "dbHost", "value": f"klausapproves-rds.{env}.internal.lemon.me"}],
               secrets=[{"key": "apiKey", "value": f"klausapproves/{env}/api.api_key"}])


def render_ok(root: Path, env: str, image: str = IMAGE) -> dict[str, Any]:
    result = run_tool(root, "render_taskdef.py", "--env", env, "--image", image)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return json.loads(result.stdout)


# ───────────────────────────── the seed example ─────────────────────────────
@pytest.mark.parametrize("env", ["pre", "prod"])
def test_seed_example_renders_a_registrable_task_definition(seed_project: Path, env: str) -> None:
    result = run_tool(seed_project, "render_taskdef.py", "--env", env, "--image", IMAGE)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert_registrable(payload)
    conventions = json.loads((seed_project / ".lemi" / "conventions.json").read_text())["environments"][env]
    assert payload["family"] == conventions["task_family"] == f"klausapproves-{env}"
    assert payload["executionRoleArn"] == conventions["execution_role_arn"]
    assert payload["taskRoleArn"] == conventions["task_role_arn"]
    assert (payload["cpu"], payload["memory"]) == ("256", "512")
    container = payload["containerDefinitions"][0]
    assert container["name"] == "klausapproves" and container["image"] == IMAGE and container["essential"]
    assert [m["containerPort"] for m in container["portMappings"]] == [8080, 9090]
    assert container["logConfiguration"]["options"]["awslogs-group"] == f"/ecs/klausapproves/{env}"
    # The skeleton's jar probes /health itself: the runtime image need not have a shell or curl.
    assert container["healthCheck"]["command"][:2] == ["CMD", "java"]
    assert container["healthCheck"]["command"][-3:] == ["-jar", "/app/app.jar", "--health-check"]
    tags = {t["key"]: t["value"] for t in payload["tags"]}
    assert tags == {"service": "klausapproves", "env": env, "owners": "klaus ana-ops",
                    "repository": "klausapproves", "managed-by": "lemi"}


def test_seed_environment_follows_the_contract_the_skeleton_reads(seed_project: Path) -> None:
    environment = {e["name"]: e["value"] for e in render_ok(seed_project, "prod")["containerDefinitions"][0]["environment"]}
    assert environment["SERVICE_NAME"] == "klausapproves"
    assert environment["ENVIRONMENT"] == "prod"
    assert (environment["HTTP_PORT"], environment["METRICS_PORT"]) == ("8080", "9090")
    assert environment["LEMI_DEPENDENCIES"] == (
        "bpg=http://bpg.prod.internal.lemon.me/health,"
        "klausapproves-rds=tcp://klausapproves-rds.prod.internal.lemon.me:5432,"
        "klausapproves-cache=tcp://klausapproves-cache.prod.internal.lemon.me:6379")
    assert environment["LEMI_OPTIONAL_DEPENDENCIES"] == "klausapproves-cache"
    assert environment["BPG_HOST"] == "bpg.prod.internal.lemon.me"
    assert environment["BPG_URL"] == "http://bpg.prod.internal.lemon.me"
    assert environment["KLAUSAPPROVES_RDS_PORT"] == "5432"
    assert (environment["DD_SERVICE"], environment["DD_ENV"], environment["DD_VERSION"]) == (
        "klausapproves", "prod", "1a2b3c4")


def test_datadog_autodiscovers_the_openmetrics_endpoint(seed_project: Path) -> None:
    labels = render_ok(seed_project, "pre")["containerDefinitions"][0]["dockerLabels"]
    check = json.loads(labels["com.datadoghq.ad.checks"])
    instance = check["openmetrics"]["instances"][0]
    assert instance["openmetrics_endpoint"] == "http://%%host%%:9090/metrics"
    assert instance["namespace"] == "klausapproves" and instance["metrics"] == [".*"]
    assert labels["com.datadoghq.tags.env"] == "pre"


def test_the_platform_can_run_the_datadog_agent_beside_the_service(service: Path) -> None:
    """Off by default (one container); once the platform turns it on, a non-essential agent
    sidecar reads its API key as a secret and the service's own container is unchanged."""
    alone = render_ok(service, "prod")
    assert [c["name"] for c in alone["containerDefinitions"]] == ["klausapproves"]
    conventions_file = service / ".lemi" / "conventions.json"
    conventions = json.loads(conventions_file.read_text())
    conventions["datadog_agent"]["enabled"] = True
    conventions_file.write_text(json.dumps(conventions))
    payload = render_ok(service, "prod")
    assert_registrable(payload)
    app, agent = payload["containerDefinitions"]
    assert app == alone["containerDefinitions"][0]
    assert agent["name"] == "datadog-agent" and agent["essential"] is False
    assert agent["image"] == conventions["datadog_agent"]["image"]
    assert agent["secrets"] == [{"name": "DD_API_KEY", "valueFrom":
                                 conventions["environments"]["prod"]["datadog_api_key_secret_arn"]}]
    environment = {item["name"]: item["value"] for item in agent["environment"]}
    assert environment == {"ECS_FARGATE": "true", "DD_SITE": conventions["datadog_site"], "DD_ENV": "prod",
                           "DD_SERVICE": "klausapproves"}
    assert "DD_API_KEY" not in json.dumps(app)


def test_variables_become_environment_and_secrets_become_value_from(service: Path) -> None:
    with_owner_environment(service, "prod")
    payload = render_ok(service, "prod")
    assert_registrable(payload)
    container = payload["containerDefinitions"][0]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["FEATURE_FLAG"] == "false"
    assert environment["DATABASE_URL"] == "jdbc:postgresql://klausapproves-rds.prod.internal.lemon.me:5432/klausapproves"
    assert environment["LOG_LEVEL"] == "INFO"
    assert "API_KEY" not in environment
    assert container["secrets"] == [{
        "name": "API_KEY",
        "valueFrom": "arn:aws:secretsmanager:us-east-1:333333333333:secret:klausapproves/prod/api:api_key::",
    }]
    assert "klausapproves/prod/api" not in json.dumps(container["environment"])


def test_a_secret_given_by_arn_keeps_its_arn(service: Path) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:111111111111:secret:klausapproves/pre/db-AbCdEf"
    set_environment(service, [{"key": "DB_PASSWORD", "value": REF.format("db")}])
    set_config(service, "pre", secrets=[{"key": "db", "value": f"{arn}.password"}])
    secrets = render_ok(service, "pre")["containerDefinitions"][0]["secrets"]
    assert secrets == [{"name": "DB_PASSWORD", "valueFrom": f"{arn}:password::"}]


def test_values_stay_as_written(service: Path) -> None:
    """YAML 1.1 would turn these into 1.1, false, a date and 8; the service gets the text."""
    (service / "deploy" / "pre" / "config.yaml").write_text(
        "variables:\n"
        "  - {key: version, value: 1.10}\n  - {key: norway, value: no}\n"
        "  - {key: day, value: 2024-01-01}\n  - {key: octal, value: 010}\n  - {key: flag, value: true}\n")
    set_environment(service, [{"key": k.upper(), "value": REF.format(k)}
                              for k in ("version", "norway", "day", "octal", "flag")])
    environment = {e["name"]: e["value"] for e in render_ok(service, "pre")["containerDefinitions"][0]["environment"]}
    assert [environment[k] for k in ("VERSION", "NORWAY", "DAY", "OCTAL", "FLAG")] == [
        "1.10", "no", "2024-01-01", "010", "true"]


def test_output_is_deterministic(service: Path) -> None:
    with_owner_environment(service, "pre")
    first = run_tool(service, "render_taskdef.py", "--env", "pre", "--image", IMAGE).stdout
    # The same content in another order is the same task definition, byte for byte.
    edit_yaml(service / "deploy" / "service.yaml", lambda doc: doc["spec"]["environment"].reverse())
    edit_yaml(service / "deploy" / "pre" / "config.yaml", lambda doc: doc["variables"].reverse())
    second = run_tool(service, "render_taskdef.py", "--env", "pre", "--image", IMAGE).stdout
    assert first and first == second


def test_names_come_from_conventions_json_only(service: Path) -> None:
    """The renderer re-derives nothing: change a name in conventions.json and the output follows."""
    path = service / ".lemi" / "conventions.json"
    conventions = json.loads(path.read_text())
    pre = conventions["environments"]["pre"]
    pre.update(task_family="renamed-family", log_group="/custom/group", container_name="app",
               execution_role_arn="arn:aws:iam::111111111111:role/other-execution")
    pre["dependencies"][0]["host"] = "bpg.elsewhere.example"
    path.write_text(json.dumps(conventions))
    payload = render_ok(service, "pre")
    container = payload["containerDefinitions"][0]
    assert payload["family"] == "renamed-family"
    assert payload["executionRoleArn"].endswith("role/other-execution")
    assert container["name"] == "app"
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/custom/group"
    assert {"name": "BPG_HOST", "value": "bpg.elsewhere.example"} in container["environment"]


def test_output_file_is_written_whole_and_only_on_success(service: Path) -> None:
    target = service / "taskdef.json"
    result = run_tool(service, "render_taskdef.py", "--env", "pre", "--image", IMAGE, "--output", str(target))
    assert result.returncode == 0 and result.stdout == ""
    assert json.loads(target.read_text())["family"] == "klausapproves-pre"
    before = target.read_text()
    set_environment(service, [{"key": "X", "value": REF.format("missing")}])
    failed = run_tool(service, "render_taskdef.py", "--env", "pre", "--image", IMAGE, "--output", str(target))
    assert failed.returncode == 2
    assert target.read_text() == before  # the last good render survives a failed one
    fresh = service / "fresh.json"
    run_tool(service, "render_taskdef.py", "--env", "pre", "--image", IMAGE, "--output", str(fresh))
    assert not fresh.exists()
    assert [p.name for p in service.iterdir() if p.name.endswith(".tmp")] == []


def test_renderer_needs_only_the_standard_library_and_pyyaml(seed_project: Path) -> None:
    probe = (
        "import json, runpy, sys\n"
        "before = set(sys.modules)\n"
        "sys.argv = ['render_taskdef.py', '--env', 'pre', '--image', 'repo:tag', '--output', sys.argv[1]]\n"
        "try:\n    runpy.run_path('.lemi/render_taskdef.py', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    output = seed_project.parent / "imports-probe.json"
    result = subprocess.run([sys.executable, "-B", "-c", probe, str(output)], cwd=seed_project,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    imported = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert output.exists()
    assert "yaml" in imported  # the probe sees the renderer's imports at all
    # PyYAML's C extension registers Cython's runtime modules when it loads.
    third_party = {n for n in imported - set(sys.stdlib_module_names) if not n.startswith(("_cython", "cython_"))}
    assert third_party <= {"yaml", "_yaml", "lemi_deploy"}


def test_ecs_probes_health_the_way_the_generated_dockerfile_does(seed_project: Path) -> None:
    """ECS ignores the image's HEALTHCHECK; the task definition must run the same probe."""
    dockerfile = (seed_project / "Dockerfile").read_text()
    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK"):].replace("\\\n", " ")
    command = json.loads(healthcheck[healthcheck.index("CMD") + 3:].splitlines()[0])
    probe = render_ok(seed_project, "pre")["containerDefinitions"][0]["healthCheck"]["command"]
    assert probe == ["CMD", *command]


def test_fargate_sizes_match_the_template_rules(service: Path) -> None:
    conventions = json.loads((service / ".lemi" / "conventions.json").read_text())
    assert load_module(service, "lemi_deploy").fargate_sizes(conventions) == naming.FARGATE_SIZES


def test_a_second_service_in_the_repository_renders_from_its_own_folder(make_project) -> None:
    project = make_project(service_name="klausapproves-worker", service_path="klausapproves-worker",
                           answers_file="klausapproves-worker/.copier-answers.yml", external=False)
    payload = render_ok(project / "klausapproves-worker", "prod")
    assert_registrable(payload)
    assert payload["family"] == "klausapproves-worker-prod"
    tags = {t["key"]: t["value"] for t in payload["tags"]}
    assert (tags["service"], tags["repository"]) == ("klausapproves-worker", "klausapproves")


def test_options_may_be_written_with_equals(seed_project: Path) -> None:
    result = run_tool(seed_project, "render_taskdef.py", "--env=pre", f"--image={IMAGE}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["family"] == "klausapproves-pre"


@pytest.mark.parametrize("args,problem", [
    (["--env", "pre"], "--image is required"),
    (["--env", "pre", "--image"], "--image needs a value"),
    (["--env", "pre", "--image", IMAGE, "--colour", "red"], "unknown argument '--colour'"),
    (["--env", "pre", "--env", "prod", "--image", IMAGE], "--env given twice"),
])
def test_bad_arguments_are_one_line_exit_2(seed_project: Path, args: list[str], problem: str) -> None:
    result = run_tool(seed_project, "render_taskdef.py", *args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and problem in result.stderr


# ───────────────────────────── bad input ─────────────────────────────────────
def _spec(change):
    return lambda root: edit_yaml(root / "deploy" / "service.yaml", change)


def _env(*entries):
    return lambda root: set_environment(root, list(entries))


def _config(env="pre", **sections):
    return lambda root: set_config(root, env, **sections)


def _write(rel, text):
    return lambda root: (root / rel).write_text(text)


def _both(*steps):
    return lambda root: [step(root) for step in steps]


def _conventions(change):
    def apply(root):
        path = root / ".lemi" / "conventions.json"
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    return apply


AKIA = "AKIA" + "IOSFODNN7EXAMPLE"
TOKEN = "q8Vz3XbT1rL0mW6kPj2Ys9Nd4Hc7Ga5F"

BAD_INPUT = [
    # (id, change, env, file, key, problem)
    ("missing spec", lambda r: (r / "deploy" / "service.yaml").unlink(), "pre",
     "deploy/service.yaml", None, "missing"),
    ("missing config", lambda r: (r / "deploy" / "prod" / "config.yaml").unlink(), "prod",
     "deploy/prod/config.yaml", None, "missing"),
    ("missing conventions", lambda r: (r / ".lemi" / "conventions.json").unlink(), "pre",
     ".lemi/conventions.json", None, "missing"),
    ("unknown env", lambda r: None, "qa", ".lemi/conventions.json", "environments", 'unknown environment "qa"'),
    ("traversal env", lambda r: None, "../../etc", ".lemi/conventions.json", "environments", "unknown environment"),
    ("malformed spec", _write("deploy/service.yaml", "type: service\nspec: [unclosed\n"), "pre",
     "deploy/service.yaml", "line", "malformed YAML"),
    ("malformed config", _write("deploy/pre/config.yaml", "variables:\n  - key: a\n value: b\n"), "pre",
     "deploy/pre/config.yaml", "line", "malformed YAML"),
    ("malformed conventions", _write(".lemi/conventions.json", "{not json"), "pre",
     ".lemi/conventions.json", "line 1", "malformed JSON"),
    ("duplicate yaml key", _write("deploy/pre/config.yaml", "variables: []\nvariables: []\n"), "pre",
     "deploy/pre/config.yaml", "line 2", 'duplicate key "variables"'),
    ("spec not a mapping", _write("deploy/service.yaml", "- a\n- b\n"), "pre",
     "deploy/service.yaml", None, "must be a mapping"),
    ("environment not a list", _spec(lambda d: d["spec"].__setitem__("environment", {"A": "b"})), "pre",
     "deploy/service.yaml", "spec.environment", "must be a list"),
    ("entry not a mapping", _env("A=b"), "pre", "deploy/service.yaml", "spec.environment[0]", "must be a mapping"),
    ("value is a list", _env({"key": "A", "value": [1]}), "pre",
     "deploy/service.yaml", "spec.environment.A", "must be text"),
    ("value missing", _env({"key": "A", "value": None}), "pre",
     "deploy/service.yaml", "spec.environment.A", "has no value"),
    ("unknown entry field", _env({"key": "A", "value": "b", "valueFrom": "c"}), "pre",
     "deploy/service.yaml", "spec.environment[0].valueFrom", "unknown field"),
    ("variables not a list", _write("deploy/pre/config.yaml", "variables: {a: b}\n"), "pre",
     "deploy/pre/config.yaml", "variables", "must be a list"),
    ("unknown config section", _write("deploy/pre/config.yaml", "secret: []\n"), "pre",
     "deploy/pre/config.yaml", "secret", "unknown section"),
    ("cpu not a size", _spec(lambda d: d["spec"]["resources"].__setitem__("cpu", "lots")), "pre",
     "deploy/service.yaml", "spec.resources.cpu", "AWS's format"),
    ("memory not for that cpu", _spec(lambda d: d["spec"]["resources"].__setitem__("memory", 4096)), "pre",
     "deploy/service.yaml", "spec.resources.memory", "does not fit 256 CPU units"),
    ("name is not the service", _spec(lambda d: d.__setitem__("name", "other")), "pre",
     "deploy/service.yaml", "name", "copier update"),
    ("undeclared dependency", _spec(lambda d: d["spec"]["dependencies"]["services"].append("ghost")), "pre",
     "deploy/service.yaml", "spec.dependencies.services[1]", '"ghost" is not a dependency'),
    ("unknown reference", _env({"key": "A", "value": REF.format("nope")}), "pre",
     "deploy/service.yaml", "spec.environment.A", 'references "nope", which deploy/pre/config.yaml defines neither'),
    ("unknown template expression", _env({"key": "A", "value": "{{ .Values.x }}"}), "pre",
     "deploy/service.yaml", "spec.environment.A", "template expression"),
    ("both variable and secret", _config(variables=[{"key": "k", "value": "v"}],
                                         secrets=[{"key": "k", "value": "klausapproves/pre/s.f"}]), "pre",
     "deploy/pre/config.yaml", "secrets.k", "also defined in variables"),
    ("env key with a space (the seed's example)", _env({"key": "KLAUSAPPROVES VARIABLE", "value": "x"}), "pre",
     "deploy/service.yaml", "spec.environment[0].key", "not a valid name"),
    ("env key with a dash", _env({"key": "MY-VAR", "value": "x"}), "pre",
     "deploy/service.yaml", "spec.environment[0].key", "not a valid name"),
    ("env key starting with a digit", _env({"key": "1A", "value": "x"}), "pre",
     "deploy/service.yaml", "spec.environment[0].key", "not a valid name"),
    ("duplicate env key", _env({"key": "A", "value": "1"}, {"key": "A", "value": "2"}), "pre",
     "deploy/service.yaml", "spec.environment.A", "defined twice"),
    ("duplicate variable", _config(variables=[{"key": "a", "value": 1}, {"key": "a", "value": 2}]), "pre",
     "deploy/pre/config.yaml", "variables.a", "defined twice"),
    ("reserved key", _env({"key": "SERVICE_NAME", "value": "x"}), "pre",
     "deploy/service.yaml", "spec.environment.SERVICE_NAME", "set by lemi"),
    ("secret not a reference", _config(secrets=[{"key": "s", "value": "hunter2"}]), "pre",
     "deploy/pre/config.yaml", "secrets.s", "must be a reference"),
    ("secret not text", _config(secrets=[{"key": "s", "value": 12345}]), "pre",
     "deploy/pre/config.yaml", "secrets.s", "must be a reference"),
    ("secret of another service", _config(secrets=[{"key": "s", "value": "bpg/pre/api.key"}]), "pre",
     "deploy/pre/config.yaml", "secrets.s", "reads only secrets named klausapproves/pre/*"),
    ("secret of another account", _config(secrets=[{"key": "s", "value":
        "arn:aws:secretsmanager:us-east-1:999999999999:secret:klausapproves/pre/x.f"}]), "pre",
     "deploy/pre/config.yaml", "secrets.s", "not this environment's secret"),
    ("secret inside a longer value", _both(
        _config(secrets=[{"key": "pw", "value": "klausapproves/pre/db.password"}]),
        _env({"key": "DB_URL", "value": f"postgres://app:{REF.format('pw')}@db"})), "pre",
     "deploy/service.yaml", "spec.environment.DB_URL", 'secret "pw" must be the whole value'),
    ("aws key id in variables", _config(variables=[{"key": "k", "value": AKIA}]), "pre",
     "deploy/pre/config.yaml", "variables.k", "AWS access key id"),
    ("private key in variables", _config(variables=[{"key": "k", "value":
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"}]), "pre",
     "deploy/pre/config.yaml", "variables.k", "private key"),
    ("token in variables", _config(variables=[{"key": "k", "value": TOKEN}]), "pre",
     "deploy/pre/config.yaml", "variables.k", "secret token"),
    ("password in a URL", _config(variables=[{"key": "k", "value": "postgres://app:s3cret@db:5432/x"}]), "pre",
     "deploy/pre/config.yaml", "variables.k", "password"),
    ("token as a literal in the spec", _env({"key": "TOKEN", "value": f"Bearer {TOKEN}"}), "pre",
     "deploy/service.yaml", "spec.environment.TOKEN", "secret token"),
    ("bad image", lambda r: None, "pre", "--image", None, "image reference"),
    ("conventions without the family", _conventions(lambda d: d["environments"]["pre"].pop("task_family")), "pre",
     ".lemi/conventions.json", "environments.task_family", "copier update"),
    ("no owners", _write("OWNERS", "# nobody\n"), "pre", "OWNERS", None, "at least one owner"),
    ("a password by its name", _config(variables=[{"key": "dbPassword", "value": "S3cr3t!Passw0rd#2024"}]), "pre",
     "deploy/pre/config.yaml", "variables.dbPassword", "its name says it is a credential"),
    ("an API key by its name", _config(variables=[{"key": "stripe_api_key", "value": "letmein"}]), "pre",
     "deploy/pre/config.yaml", "variables.stripe_api_key", "its name says it is a credential"),
    ("misspelt spec section", lambda r: (r / "deploy" / "service.yaml").write_text(
        (r / "deploy" / "service.yaml").read_text().replace("  environment:", "  enviroment:")), "pre",
     "deploy/service.yaml", "spec.enviroment", "unknown section"),
    ("unknown top-level field", lambda r: (r / "deploy" / "service.yaml").write_text(
        (r / "deploy" / "service.yaml").read_text() + "replicas: 3\n"), "pre",
     "deploy/service.yaml", "replicas", "unknown field"),
    ("an AWS variable", _env({"key": "AWS_REGION", "value": "eu-west-1"}), "pre",
     "deploy/service.yaml", "spec.environment.AWS_REGION", "belong to AWS"),
    ("an ECS variable", _env({"key": "ECS_CONTAINER_METADATA_URI_V4", "value": "x"}), "pre",
     "deploy/service.yaml", "spec.environment.ECS_CONTAINER_METADATA_URI_V4", "belong to AWS"),
    ("a Datadog agent variable", _env({"key": "DD_AGENT_HOST", "value": "x"}), "pre",
     "deploy/service.yaml", "spec.environment.DD_AGENT_HOST", "belong to AWS"),
    ("over ECS's 64 KiB", _both(_env({"key": "BIG", "value": '{{ .Variables["big"] }}'}),
                                _config(variables=[{"key": "big", "value": "x y " * 17000}])), "pre",
     "deploy/pre/config.yaml", None, "over ECS's 65536"),
]


@pytest.mark.parametrize("change,env,file,key,problem", [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_nothing_written(service, change, env, file, key, problem) -> None:
    change(service)
    image = "not an image" if file == "--image" else IMAGE
    target = service / "taskdef.json"
    result = run_tool(service, "render_taskdef.py", "--env", env, "--image", image, "--output", str(target))
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert not target.exists()
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = lines[0]
    assert line.startswith(f"{file}: "), line
    if key:
        assert line.startswith(f"{file}: {key}"), line
    assert problem in line, line
    # The value of a would-be secret or credential is never echoed back.
    for secret in ("hunter2", AKIA, TOKEN, "s3cret", "MIIEow"):
        assert secret not in line


@pytest.mark.parametrize("key,value", [("tokenTtlSeconds", "3600"), ("enableSecretRotation", "true"),
                                       ("passwordMinLength", "12"), ("secretName", "klausapproves/pre/api"),
                                       ("apiToken", "false"), ("dbPassword", "")])
def test_credential_sounding_names_with_harmless_values_render(service: Path, key: str, value: str) -> None:
    set_config(service, "pre", variables=[{"key": key, "value": value}])
    result = run_tool(service, "render_taskdef.py", "--env", "pre", "--image", IMAGE)
    assert result.returncode == 0, result.stderr


def test_ecs_exec_agent_folders_are_writable_on_the_read_only_root(seed_project: Path) -> None:
    """ECS Exec's agent writes to these; on a read-only root file system each needs a volume."""
    payload = render_ok(seed_project, "pre")
    container = payload["containerDefinitions"][0]
    assert container["readonlyRootFilesystem"] is True
    mounted = {mount["containerPath"]: mount["sourceVolume"] for mount in container["mountPoints"]}
    assert {"/tmp", "/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm"} <= set(mounted)
    assert set(mounted.values()) == {volume["name"] for volume in payload["volumes"]}
    assert all(not mount["readOnly"] for mount in container["mountPoints"])


# ───────────────────────────── what counts as a credential ──────────────────
ORDINARY_VALUES = [
    "true", "false", "INFO", "0.75", "1.10", "2024-01-01T10:00:00Z", "*/5 * * * *", "a,b,c",
    "https://bpg.pre.internal.lemon.me/v2/payments?limit=50&sort=desc",
    "jdbc:postgresql://klausapproves-rds.pre.internal.lemon.me:5432/klausapproves",
    "s3://lemon-pre-klausapproves-documents/uploads2024/",
    "arn:aws:sqs:us-east-1:111111111111:klausapproves-events-queue",
    "123e4567-e89b-12d3-a456-426614174000",
    "SPRING_PROFILES_ACTIVE_production",
    "com.lemon.klausapproves.ApprovalRequestHandlerFactory",
    "-Xms256m -Xmx512m -XX:MaxRAMPercentage=75.0",
    "feature_flag_new_checkout_v2_enabled",
    "klaus@lemon.me", "v1.24.3-rc.1", '{"retries": 3, "backoff": "exponential"}',
    "Approvals are sent to the risk team within 24 hours",
    "https://github.com/lemon-fintech/klausapproves/blob/main/README2.md",
]


@pytest.fixture(scope="module")
def lemi_deploy(seed_project: Path, tmp_path_factory: pytest.TempPathFactory):
    return load_module(copy_service(seed_project, tmp_path_factory.mktemp("lemi") / "svc"), "lemi_deploy")


@pytest.mark.parametrize("value", ORDINARY_VALUES)
def test_ordinary_values_are_not_credentials(lemi_deploy, value: str) -> None:
    assert lemi_deploy.credential_problem(value) is None


@pytest.mark.parametrize("value", [
    AKIA, "ASIA" + "Y34FZKBOKMUTVV7A", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "9f86d081884c7d659a2feaa0c55ad015", TOKEN, "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "https://hooks.slack.com/services/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",
    "-----BEGIN OPENSSH PRIVATE KEY-----", "amqp://user:pa55word@mq.internal:5672",
])
def test_credentials_are_recognised(lemi_deploy, value: str) -> None:
    assert lemi_deploy.credential_problem(value)


def test_random_tokens_are_recognised_at_every_usual_length(lemi_deploy) -> None:
    rng = random.Random(4)
    alphabet = string.ascii_letters + string.digits
    for length in (24, 32, 40, 64):
        tokens = ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(200)]
        tokens = [t for t in tokens if any(c.isdigit() for c in t)]
        caught = sum(bool(lemi_deploy.credential_problem(t)) for t in tokens)
        assert caught / len(tokens) >= 0.95, (length, caught, len(tokens))


# ───────────────────────────── fuzz ──────────────────────────────────────────
VALID_NAMES = ["a", "b", "flag", "apiKey", "db.host", "x-y", "ok_2"]
NAMES = st.sampled_from(VALID_NAMES)
ODD = st.one_of(st.none(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=2),
                st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
VALUES = st.one_of(st.text(max_size=30), st.integers(), st.booleans())
SECRET_VALUES = st.one_of(
    st.builds(lambda n, f: f"klausapproves/pre/s3cret-{n}.{f}", st.integers(0, 9), st.sampled_from(["key", "pw"])),
    st.builds(lambda n: f"arn:aws:secretsmanager:us-east-1:111111111111:secret:klausapproves/pre/arn{n}.k",
              st.integers(0, 9)),
)
SPEC_VALUE = st.one_of(
    NAMES.map(REF.format),
    st.builds(lambda prefix, name, suffix: prefix + REF.format(name) + suffix, st.text(max_size=5), NAMES,
              st.text(max_size=5)),
    VALUES,
)


def entries(keys, values, max_size=4):
    return st.lists(st.fixed_dictionaries({"key": keys, "value": values}), max_size=max_size,
                    unique_by=lambda entry: entry["key"])


def secret_targets(config: dict) -> list[str]:
    return [s["value"].rpartition(".")[0] for s in config.get("secrets", [])]


@pytest.fixture(scope="module")
def fuzz_root(lemi_deploy) -> Path:
    return Path(lemi_deploy.__file__).parent.parent


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=st.fixed_dictionaries({"variables": entries(NAMES, VALUES), "secrets": entries(NAMES, SECRET_VALUES)}),
       environment=entries(st.sampled_from(["A", "B", "API_KEY", "C_2"]), SPEC_VALUE, max_size=5))
def test_fuzzed_configs_never_put_a_secret_in_plain_environment(lemi_deploy, fuzz_root, config, environment) -> None:
    set_environment(fuzz_root, environment)
    (fuzz_root / "deploy" / "pre" / "config.yaml").write_text(yaml.safe_dump(config))
    try:
        payload = lemi_deploy.render(str(fuzz_root), "pre", IMAGE)
    except lemi_deploy.InputError as exc:
        event(f"rejected: {exc.problem[:30]}")
        assert "\n" not in str(exc) and str(exc).split(": ")[0] in ("deploy/service.yaml", "deploy/pre/config.yaml")
        return
    event("rendered")
    assert_registrable(payload)
    container = payload["containerDefinitions"][0]
    plain = json.dumps(container["environment"])
    for target in secret_targets(config):
        assert target not in plain
    secret_names = {s["key"] for s in config["secrets"]}
    from_secrets = {e["key"] for e in environment if e["value"] in {REF.format(n) for n in secret_names}}
    assert from_secrets <= {s["name"] for s in container["secrets"]}
    assert not from_secrets & {e["name"] for e in container["environment"]}


GARBAGE = st.one_of(
    st.text(max_size=60),
    st.recursive(st.one_of(VALUES, ODD), lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["variables", "secrets", "key", "value", "x"]),
                                                     inner, max_size=3)), max_leaves=12).map(yaml.safe_dump),
    st.fixed_dictionaries({"variables": st.lists(st.fixed_dictionaries(
        {"key": st.one_of(NAMES, st.text(max_size=4), ODD), "value": st.one_of(VALUES, ODD)}), max_size=3),
        "secrets": st.lists(st.fixed_dictionaries(
            {"key": st.one_of(NAMES, ODD), "value": st.one_of(SECRET_VALUES, VALUES, ODD)}), max_size=3),
    }).map(yaml.safe_dump),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config_text=GARBAGE, environment=st.lists(st.fixed_dictionaries(
    {"key": st.one_of(st.sampled_from(["A", "B"]), st.text(max_size=4), ODD), "value": st.one_of(SPEC_VALUE, ODD)}),
    max_size=3))
def test_fuzzed_garbage_is_an_input_error_never_a_crash(lemi_deploy, fuzz_root, config_text, environment) -> None:
    set_environment(fuzz_root, environment)
    (fuzz_root / "deploy" / "pre" / "config.yaml").write_text(config_text)
    try:
        assert_registrable(lemi_deploy.render(str(fuzz_root), "pre", IMAGE))
        event("rendered")
    except lemi_deploy.InputError as exc:
        event("rejected")
        assert "\n" not in str(exc)
