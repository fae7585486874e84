"""The vendored scaling and deploy-check commands, .lemi/apply_scaling.py and .lemi/check_deploy.py.

Scaling runs against moto (a moto_server on 127.0.0.1, reached through
AWS_ENDPOINT_URL as CI would reach AWS); the deploy check's judgement runs
against botocore's Stubber, which can replay the deployments ECS reports during
a rollout and a circuit-breaker rollback (moto does not model rollouts).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
import yaml
from botocore.stub import Stubber

IMAGE = "444444444444.dkr.ecr.us-east-1.amazonaws.com/klausapproves:1a2b3c4"
RESOURCE_ID = "service/lemon-pre/klausapproves"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


# ───────────────────────────── helpers ───────────────────────────────────────
def run_tool(root: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment = {**base, "PYTHONDONTWRITEBYTECODE": "1", **FAKE_CREDENTIALS, **env}
    return subprocess.run([sys.executable, f".lemi/{script}", *args], cwd=root, capture_output=True, text=True,
                          env=environment, timeout=120)


def load_module(root: Path, name: str):
    sys.path.insert(0, str(root / ".lemi"))
    try:
        spec = importlib.util.spec_from_file_location(f"_lemi_{name}_{abs(hash(str(root)))}",
                                                      root / ".lemi" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(root / ".lemi"))


def set_autoscaling(root: Path, **values: Any) -> None:
    path = root / "deploy" / "service.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["spec"]["autoscaling"].update(values)
    doc["spec"]["autoscaling"] = {k: v for k, v in doc["spec"]["autoscaling"].items() if v is not None}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.fixture
def service(seed_project: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(seed_project, tmp_path / "klausapproves",
                                ignore=shutil.ignore_patterns(".git", "__pycache__")))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws(moto_server: str) -> str:
    """A fresh moto_server account for one test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=5)
    return moto_server


def client(endpoint: str, name: str):
    return boto3.client(name, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def create_service_in(endpoint: str, root: Path) -> str:
    """What the infra pull request and the first deploy leave behind: the rendered task
    definition registered and the ECS service running it. Returns the task definition ARN."""
    rendered = root / "taskdef.json"
    result = run_tool(root, "render_taskdef.py", "--env", "pre", "--image", IMAGE, "--output", str(rendered))
    assert result.returncode == 0, result.stderr
    ec2, ecs = client(endpoint, "ec2"), client(endpoint, "ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="klausapproves-clients", Description="clients", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="lemon-pre")
    arn = ecs.register_task_definition(**json.loads(rendered.read_text()))["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="lemon-pre", serviceName="klausapproves", taskDefinition=arn, desiredCount=1, launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    return arn


def scaling_state(endpoint: str) -> tuple[tuple[int, int] | None, dict[str, Any] | None]:
    scaling = client(endpoint, "application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RESOURCE_ID])["ScalableTargets"]
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=RESOURCE_ID)["ScalingPolicies"]
    target = (targets[0]["MinCapacity"], targets[0]["MaxCapacity"]) if targets else None
    return target, (policies[0] if policies else None)


# ───────────────────────────── apply_scaling ────────────────────────────────
def test_register_create_and_scale_the_seed_service_against_moto(service: Path, aws: str) -> None:
    arn = create_service_in(aws, service)
    registered = client(aws, "ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert registered["family"] == "klausapproves-pre"
    assert registered["containerDefinitions"][0]["image"] == IMAGE

    first = run_tool(service, "apply_scaling.py", "--env", "pre", AWS_ENDPOINT_URL=aws)
    assert first.returncode == 0, first.stderr
    assert "set min 1, max 10" in first.stdout and "track cpu at 70%" in first.stdout
    target, policy = scaling_state(aws)
    assert target == (1, 10)
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"

    second = run_tool(service, "apply_scaling.py", "--env", "pre", AWS_ENDPOINT_URL=aws)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"scaling of {RESOURCE_ID} unchanged: 1-10 tasks, cpu at 70%"


def test_editing_the_spec_changes_the_scaling(service: Path, aws: str) -> None:
    create_service_in(aws, service)
    assert run_tool(service, "apply_scaling.py", "--env", "pre", AWS_ENDPOINT_URL=aws).returncode == 0
    set_autoscaling(service, resource="memory", min=2, max=4, target=60)
    changed = run_tool(service, "apply_scaling.py", "--env", "pre", AWS_ENDPOINT_URL=aws)
    assert changed.returncode == 0, changed.stderr
    assert "set min 2, max 4 (was min 1, max 10)" in changed.stdout
    assert "track memory at 60%" in changed.stdout
    target, policy = scaling_state(aws)
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert target == (2, 4)
    assert (config["TargetValue"], config["PredefinedMetricSpecification"]["PredefinedMetricType"]) == (
        60.0, "ECSServiceAverageMemoryUtilization")
    assert len(client(aws, "application-autoscaling").describe_scaling_policies(
        ServiceNamespace="ecs", ResourceId=RESOURCE_ID)["ScalingPolicies"]) == 1  # updated, not added


def test_dry_run_changes_nothing(service: Path, aws: str) -> None:
    create_service_in(aws, service)
    result = run_tool(service, "apply_scaling.py", "--env", "pre", "--dry-run", AWS_ENDPOINT_URL=aws)
    assert result.returncode == 0, result.stderr
    assert "would set min 1, max 10" in result.stdout
    assert scaling_state(aws) == (None, None)


def test_a_second_apply_makes_no_write_call(service: Path) -> None:
    from moto import mock_aws

    apply_scaling = load_module(service, "apply_scaling")
    desired = apply_scaling.desired_state(str(service), "pre")
    with mock_aws(), _patched_env(FAKE_CREDENTIALS):
        ecs = boto3.client("ecs", region_name="us-east-1")
        ecs.create_cluster(clusterName="lemon-pre")
        arn = ecs.register_task_definition(family="klausapproves-pre", containerDefinitions=[
            {"name": "klausapproves", "image": IMAGE, "memory": 512}])["taskDefinition"]["taskDefinitionArn"]
        ecs.create_service(cluster="lemon-pre", serviceName="klausapproves", taskDefinition=arn, desiredCount=1)
        scaling = boto3.client("application-autoscaling", region_name="us-east-1")
        calls: list[str] = []
        scaling.meta.events.register("before-call.application-auto-scaling.*",
                                     lambda model, **_: calls.append(model.name))
        assert apply_scaling.apply(scaling, desired, say=lambda _: None)
        assert {"RegisterScalableTarget", "PutScalingPolicy"} <= set(calls)
        calls.clear()
        assert apply_scaling.apply(scaling, desired, say=lambda _: None) == []
        assert calls and all(name.startswith("Describe") for name in calls)


@contextlib.contextmanager
def _patched_env(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


BAD_SCALING = [
    ("min 0", {"min": 0}, "spec.autoscaling.min", "at least 1"),
    ("max below min", {"min": 5, "max": 2}, "spec.autoscaling.max", "at least min (5)"),
    ("unknown resource", {"resource": "disk"}, "spec.autoscaling.resource", 'must be "cpu" or "memory"'),
    ("target above 100", {"target": 150}, "spec.autoscaling.target", "from 1 to 100"),
    ("target as text", {"target": "70%"}, "spec.autoscaling.target", "whole number"),
    ("min as text", {"min": "one"}, "spec.autoscaling.min", "whole number"),
    ("unknown setting", {"cooldown": 30}, "spec.autoscaling.cooldown", "unknown setting"),
]


@pytest.mark.parametrize("values,key,problem", [c[1:] for c in BAD_SCALING], ids=[c[0] for c in BAD_SCALING])
def test_bad_autoscaling_is_one_line_exit_2(service: Path, values, key, problem) -> None:
    set_autoscaling(service, **values)
    result = run_tool(service, "apply_scaling.py", "--env", "pre", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"deploy/service.yaml: {key}: ") and problem in result.stderr


def test_unreachable_aws_is_one_line_exit_1(service: Path) -> None:
    result = run_tool(service, "apply_scaling.py", "--env", "pre",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}", AWS_MAX_ATTEMPTS="1")
    assert result.returncode == 1
    assert result.stderr.startswith("apply_scaling.py: AWS: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


# ───────────────────────────── check_deploy: judgement ──────────────────────
OURS = "arn:aws:ecs:us-east-1:111111111111:task-definition/klausapproves-pre:8"
PREVIOUS = "arn:aws:ecs:us-east-1:111111111111:task-definition/klausapproves-pre:7"
T0 = datetime(2024, 5, 30, 12, 0, tzinfo=timezone.utc)


def deployment(task_definition: str, status: str, rollout: str | None, *, running: int = 2, desired: int = 2,
               created: datetime = T0, reason: str = "") -> dict[str, Any]:
    entry = {"id": f"ecs-svc/{task_definition[-1]}{status}", "status": status, "taskDefinition": task_definition,
             "desiredCount": desired, "runningCount": running, "pendingCount": desired - running,
             "createdAt": created}
    if rollout:
        entry.update(rolloutState=rollout, rolloutStateReason=reason or f"ECS deployment {rollout.lower()}.")
    return entry


def described(*deployments: dict[str, Any], events: tuple[tuple[datetime, str], ...] = ()) -> dict[str, Any]:
    return {"services": [{
        "serviceName": "klausapproves", "status": "ACTIVE", "deployments": list(deployments),
        "events": [{"id": str(i), "createdAt": at, "message": message} for i, (at, message) in enumerate(events)],
    }], "failures": []}


@pytest.fixture(scope="module")
def check_deploy(seed_project: Path, tmp_path_factory: pytest.TempPathFactory):
    root = Path(shutil.copytree(seed_project, tmp_path_factory.mktemp("check") / "svc",
                                ignore=shutil.ignore_patterns(".git")))
    return load_module(root, "check_deploy")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def judge(check_deploy, *responses: dict[str, Any], timeout: float = 600, poll: float = 15):
    """Run the check against ECS answering ``responses`` in turn: (passed, message, clock)."""
    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    clock = FakeClock()
    with Stubber(ecs) as stub:
        for response in responses:
            stub.add_response("describe_services", response, {"cluster": "lemon-pre", "services": ["klausapproves"]})
        passed, message = check_deploy.wait(check_deploy.describer(ecs, "lemon-pre", "klausapproves"), OURS,
                                            timeout=timeout, poll=poll, clock=clock, sleep=clock.sleep,
                                            say=lambda _: None)
        stub.assert_no_pending_responses()
    return passed, message, clock


def test_completed_rollout_passes(check_deploy) -> None:
    passed, message, _ = judge(check_deploy, described(deployment(OURS, "PRIMARY", "COMPLETED")))
    assert passed, message
    assert "klausapproves-pre:8 rolled out" in message


def test_rollout_in_progress_is_waited_for(check_deploy) -> None:
    passed, message, clock = judge(
        check_deploy,
        described(deployment(OURS, "PRIMARY", "IN_PROGRESS", running=0, created=T0),
                  deployment(PREVIOUS, "ACTIVE", "COMPLETED", created=T0 - timedelta(days=1))),
        described(deployment(OURS, "PRIMARY", "IN_PROGRESS", running=1)),
        described(deployment(OURS, "PRIMARY", "COMPLETED")),
    )
    assert passed, message
    assert clock.sleeps == [15, 15]


def test_rolled_back_deployment_fails(check_deploy) -> None:
    """The trap: after a circuit-breaker rollback the service is stable again, on the old revision."""
    passed, message, _ = judge(check_deploy, described(
        deployment(PREVIOUS, "PRIMARY", "COMPLETED", created=T0 + timedelta(minutes=9)),
        deployment(OURS, "ACTIVE", "FAILED", running=0, reason="ECS deployment circuit breaker: tasks failed to start."),
    ))
    assert not passed
    assert "FAILED" in message and "rolled back to klausapproves-pre:7" in message
    assert "circuit breaker: tasks failed to start" in message


def test_rollback_after_our_deployment_is_gone_fails(check_deploy) -> None:
    passed, message, _ = judge(check_deploy, described(deployment(PREVIOUS, "PRIMARY", "COMPLETED")))
    assert not passed
    assert "PRIMARY deployment runs klausapproves-pre:7, not klausapproves-pre:8" in message


def test_failed_primary_deployment_fails(check_deploy) -> None:
    passed, message, _ = judge(check_deploy, described(
        deployment(OURS, "PRIMARY", "FAILED", running=0, reason="tasks failed to start")))
    assert not passed and "FAILED" in message


def test_rollback_reported_in_events_fails_before_ecs_flips_primary(check_deploy) -> None:
    passed, message, _ = judge(check_deploy, described(
        deployment(OURS, "PRIMARY", "IN_PROGRESS", running=0),
        events=((T0 + timedelta(minutes=5), "(service klausapproves) rolling back to deployment ecs-svc/7ACTIVE."),),
    ))
    assert not passed
    assert "rolling back to deployment" in message


def test_rollbacks_from_before_our_deployment_do_not_fail_it(check_deploy) -> None:
    passed, message, _ = judge(check_deploy, described(
        deployment(OURS, "PRIMARY", "COMPLETED"),
        events=((T0 - timedelta(hours=2), "(service klausapproves) rolling back to deployment ecs-svc/6."),),
    ))
    assert passed, message


def test_rollout_that_never_completes_times_out(check_deploy) -> None:
    stuck = described(deployment(OURS, "PRIMARY", "IN_PROGRESS", running=1))
    passed, message, clock = judge(check_deploy, *[stuck] * 5, timeout=60, poll=15)
    assert not passed
    assert message.startswith("timed out after 60s") and "1/2 tasks running" in message
    assert sum(clock.sleeps) == 60


def test_a_service_running_no_tasks_is_not_a_deploy(check_deploy) -> None:
    empty = described(deployment(OURS, "PRIMARY", "COMPLETED", running=0, desired=0))
    passed, message, _ = judge(check_deploy, empty, empty, timeout=15, poll=15)
    assert not passed and "timed out" in message and "desired count 0" in message


def test_first_deploy_waits_for_autoscaling_to_start_tasks(check_deploy) -> None:
    passed, message, _ = judge(check_deploy,
                               described(deployment(OURS, "PRIMARY", "COMPLETED", running=0, desired=0)),
                               described(deployment(OURS, "PRIMARY", "IN_PROGRESS", running=0, desired=1)),
                               described(deployment(OURS, "PRIMARY", "COMPLETED", running=1, desired=1)))
    assert passed, message


# ───────────────────────────── check_deploy: the command ─────────────────────
def test_check_deploy_command_fails_when_primary_is_another_revision(service: Path, aws: str) -> None:
    first = create_service_in(aws, service)
    ecs = client(aws, "ecs")
    second = ecs.register_task_definition(**json.loads((service / "taskdef.json").read_text()))
    second_arn = second["taskDefinition"]["taskDefinitionArn"]
    assert first != second_arn
    result = run_tool(service, "check_deploy.py", "--env", "pre", "--task-definition-arn", second_arn,
                      "--timeout", "0", AWS_ENDPOINT_URL=aws, GITHUB_ACTIONS="true")
    assert result.returncode == 1
    assert "not klausapproves-pre:2" in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout.startswith("::error title=Deploy of klausapproves to pre failed::")


def test_check_deploy_command_times_out(service: Path, aws: str) -> None:
    arn = create_service_in(aws, service)  # moto leaves a rollout IN_PROGRESS
    result = run_tool(service, "check_deploy.py", "--env", "pre", "--task-definition-arn", arn,
                      "--timeout", "0.3", "--poll", "0.1", AWS_ENDPOINT_URL=aws)
    assert result.returncode == 1
    assert "timed out after 0.3s" in result.stderr


@pytest.mark.parametrize("arn,problem", [
    ("not-an-arn", "must be a task definition ARN"),
    ("arn:aws:ecs:us-east-1:111111111111:task-definition/bpg-pre:3", 'is of family "bpg-pre"'),
])
def test_check_deploy_bad_arguments_are_exit_2(service: Path, arn: str, problem: str) -> None:
    result = run_tool(service, "check_deploy.py", "--env", "pre", "--task-definition-arn", arn,
                      AWS_ENDPOINT_URL="http://127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.startswith("--task-definition-arn: ") and problem in result.stderr
