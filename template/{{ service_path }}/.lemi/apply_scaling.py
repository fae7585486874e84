"""Apply spec.autoscaling of deploy/service.yaml to the service in one environment.

    python3 .lemi/apply_scaling.py --env ENV [--dry-run]

Run from the service's folder. Registers the ECS service's desired count as an
Application Auto Scaling target (min/max from the spec) with one target-tracking
policy on the service's average CPU or memory at the spec's target. Reads the
current state first and writes only what differs, so running it on every deploy
is safe; prints what changed. Terraform creates the service and leaves its
desired count and the scaling to this command.

Exit codes: 0 done, 1 AWS refused or could not be reached, 2 bad input.
Managed by lemi (`copier update` replaces this file; do not edit it by hand).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lemi_deploy import (  # noqa: E402
    InputError, autoscaling, conv, environment_conventions, load_conventions, load_spec,
)

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
# Policy names are scoped to their scalable target, so one fixed name is enough;
# switching cpu <-> memory updates this policy in place instead of adding one.
POLICY_NAME = "lemi-target-tracking"
SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300


def desired_state(root: str, env: str) -> dict[str, Any]:
    """What the spec asks for in ``env``: the scalable target and its policy."""
    conventions = load_conventions(root)
    env_conv = environment_conventions(conventions, env)
    scaling = autoscaling(load_spec(root, conventions))
    cluster = conv(env_conv, "cluster", "environments.")
    service = conv(env_conv, "ecs_service", "environments.")
    return {
        "region": conv(env_conv, "aws_region", "environments."),
        "resource_id": f"service/{cluster}/{service}",
        "scaling": scaling,
        "policy": {
            "TargetValue": float(scaling["target"]),
            "PredefinedMetricSpecification": {"PredefinedMetricType": scaling["metric"]},
            "ScaleOutCooldown": SCALE_OUT_COOLDOWN,
            "ScaleInCooldown": SCALE_IN_COOLDOWN,
            "DisableScaleIn": False,
        },
    }


def _policy_differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    differences = []
    now_metric = current.get("PredefinedMetricSpecification", {}).get("PredefinedMetricType")
    new_metric = wanted["PredefinedMetricSpecification"]["PredefinedMetricType"]
    if now_metric != new_metric:
        differences.append(f"metric {now_metric} -> {new_metric}")
    for field in ("TargetValue", "ScaleOutCooldown", "ScaleInCooldown"):
        now = current.get(field)
        if now is None or float(now) != float(wanted[field]):
            differences.append(f"{field} {now} -> {wanted[field]}")
    if bool(current.get("DisableScaleIn", False)) != wanted["DisableScaleIn"]:
        differences.append(f"DisableScaleIn {current.get('DisableScaleIn')} -> {wanted['DisableScaleIn']}")
    return differences


def apply(client: Any, desired: dict[str, Any], *, dry_run: bool = False,
          say: Callable[[str], None] = print) -> list[str]:
    """Bring the service's scaling to ``desired``; return what changed (empty: nothing)."""
    resource_id, scaling = desired["resource_id"], desired["scaling"]
    verb = "would " if dry_run else ""
    changes = []

    targets = client.describe_scalable_targets(
        ServiceNamespace=NAMESPACE, ResourceIds=[resource_id], ScalableDimension=DIMENSION,
    )["ScalableTargets"]
    current = targets[0] if targets else None
    if current is None or (current["MinCapacity"], current["MaxCapacity"]) != (scaling["min"], scaling["max"]):
        before = "new" if current is None else f"min {current['MinCapacity']}, max {current['MaxCapacity']}"
        changes.append(f"scalable target {resource_id}: {verb}set min {scaling['min']}, max {scaling['max']} "
                       f"(was {before})")
        if not dry_run:
            client.register_scalable_target(
                ServiceNamespace=NAMESPACE, ResourceId=resource_id, ScalableDimension=DIMENSION,
                MinCapacity=scaling["min"], MaxCapacity=scaling["max"],
            )

    policies = client.describe_scaling_policies(
        ServiceNamespace=NAMESPACE, ResourceId=resource_id, ScalableDimension=DIMENSION, PolicyNames=[POLICY_NAME],
    )["ScalingPolicies"]
    policy = policies[0] if policies else None
    if policy is None or policy.get("PolicyType") != "TargetTrackingScaling":
        differences = ["new"]
    else:
        differences = _policy_differences(policy.get("TargetTrackingScalingPolicyConfiguration", {}),
                                          desired["policy"])
    if differences:
        changes.append(f"scaling policy {POLICY_NAME}: {verb}track {scaling['resource']} at {scaling['target']}% "
                       f"({'; '.join(differences)})")
        if not dry_run:
            client.put_scaling_policy(
                PolicyName=POLICY_NAME, ServiceNamespace=NAMESPACE, ResourceId=resource_id,
                ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration=desired["policy"],
            )

    for change in changes:
        say(change)
    if not changes:
        say(f"scaling of {resource_id} unchanged: {scaling['min']}-{scaling['max']} tasks, "
            f"{scaling['resource']} at {scaling['target']}%")
    return changes


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="apply_scaling.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment, e.g. pre or prod")
    parser.add_argument("--dry-run", action="store_true", help="print what would change; change nothing")
    args = parser.parse_args(argv)
    try:
        desired = desired_state(os.getcwd(), args.env)
    except InputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2

    import boto3  # only here: the renderer must not need it
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = boto3.client("application-autoscaling", region_name=desired["region"])
        apply(client, desired, dry_run=args.dry_run)
    except (BotoCoreError, ClientError) as exc:
        sys.stderr.write(f"apply_scaling.py: AWS: {' '.join(str(exc).split())}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
