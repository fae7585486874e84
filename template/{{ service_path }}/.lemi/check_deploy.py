"""Check that a deploy really rolled out, not that the service is merely stable.

    python3 .lemi/check_deploy.py --env ENV --task-definition-arn ARN [--timeout SECONDS] [--poll SECONDS]

Run from the service's folder, after the deploy step. A service that ECS's
deployment circuit breaker rolled back is also "stable", running the previous
task definition, so waiting for stability alone goes green on a failed deploy.
This passes only when the service's PRIMARY deployment runs ARN and its rollout
is COMPLETED. It fails when ECS rolled the deployment back (another task
definition is PRIMARY, the deployment of ARN FAILED, or the service's events
report a rollback) and when the rollout does not complete within the timeout.

Exit codes: 0 rolled out, 1 rolled back, failed, timed out or AWS unreachable,
2 bad input. Managed by lemi (`copier update` replaces this file; do not edit it by hand).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lemi_deploy import InputError, conv, environment_conventions, load_conventions, quoted  # noqa: E402

DEFAULT_TIMEOUT = 900
DEFAULT_POLL = 15
_TASK_DEFINITION = re.compile(
    r"^(?:arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/)?([A-Za-z0-9_-]{1,255}):([1-9][0-9]*)$")
# What ECS writes to a service's events when the circuit breaker gives up on a
# deployment: "(deployment ecs-svc/...) deployment failed: ..." and
# "(service x) rolling back to deployment ecs-svc/...".
_ROLLBACK_EVENT = re.compile(r"rolling back|deployment failed|circuit breaker", re.IGNORECASE)


class Verdict:
    PASSED, FAILED, WAITING = "passed", "failed", "waiting"


def revision(task_definition: str) -> str:
    """``family:revision`` of a task definition ARN (or of ``family:revision``)."""
    return task_definition.rsplit("/", 1)[-1]


def assess(service: dict[str, Any], task_definition: str) -> tuple[str, str]:
    """Where the deployment of ``task_definition`` stands: (Verdict, message)."""
    ours = revision(task_definition)
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    mine = next((d for d in deployments if revision(d.get("taskDefinition", "")) == ours), None)

    if mine is not None and mine.get("rolloutState") == "FAILED":
        reason = mine.get("rolloutStateReason") or "no reason given"
        now = revision(primary["taskDefinition"]) if primary else "nothing"
        return Verdict.FAILED, (f"the deployment of {ours} FAILED and ECS rolled back to {now}: {reason}")

    started = mine.get("createdAt") if mine else None
    if started is not None:
        for event in service.get("events") or []:
            at = event.get("createdAt")
            message = event.get("message", "")
            if at is not None and at >= started and _ROLLBACK_EVENT.search(message):
                return Verdict.FAILED, f"ECS rolled back the deployment of {ours}: {message}"

    if primary is None:
        return Verdict.WAITING, "the service has no PRIMARY deployment yet"
    running = revision(primary.get("taskDefinition", ""))
    if running != ours:
        if mine is not None:
            return Verdict.FAILED, (f"ECS rolled back: the PRIMARY deployment runs {running}, not {ours} "
                                    f"(the deployment of {ours} is {mine.get('rolloutState') or mine.get('status')})")
        return Verdict.FAILED, (f"the PRIMARY deployment runs {running}, not {ours}: the deploy was rolled "
                                "back, replaced by a newer one, or never started")

    counts = (f"{primary.get('runningCount', 0)}/{primary.get('desiredCount', 0)} tasks running, "
              f"{primary.get('pendingCount', 0)} pending")
    state = primary.get("rolloutState")
    if state in ("COMPLETED", None) and primary.get("desiredCount") == 0:
        # Zero tasks "complete" at once: green here would prove nothing ran. Autoscaling
        # may be about to raise the count (first deploy), so wait for it.
        return Verdict.WAITING, (f"{ours} is PRIMARY but the service runs no tasks yet (desired count 0; "
                                 "does .lemi/apply_scaling.py run in this deploy?)")
    if state == "COMPLETED":
        return Verdict.PASSED, f"{ours} rolled out: PRIMARY deployment COMPLETED ({counts})"
    if state == "FAILED":
        return Verdict.FAILED, f"the deployment of {ours} FAILED: {primary.get('rolloutStateReason') or ''}"
    if state is None and len(deployments) == 1 and primary.get("runningCount") == primary.get("desiredCount"):
        # No rollout state (another deployment controller): alone and at full count is done.
        return Verdict.PASSED, f"{ours} rolled out: the only deployment, {counts}"
    return Verdict.WAITING, f"rollout of {ours} {state or 'in progress'}: {counts}"


def wait(describe: Callable[[], dict[str, Any]], task_definition: str, *, timeout: float, poll: float,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         say: Callable[[str], None] = print) -> tuple[bool, str]:
    """Poll until the rollout passes, fails or times out: (passed, message)."""
    deadline = clock() + timeout
    last = None
    while True:
        verdict, message = assess(describe(), task_definition)
        if verdict != Verdict.WAITING:
            return verdict == Verdict.PASSED, message
        if message != last:
            say(message)
            last = message
        remaining = deadline - clock()
        if remaining <= 0:
            return False, f"timed out after {timeout:g}s: {message}"
        sleep(min(poll, remaining))


def describer(client: Any, cluster: str, service: str) -> Callable[[], dict[str, Any]]:
    def describe() -> dict[str, Any]:
        answer = client.describe_services(cluster=cluster, services=[service])
        found = [s for s in answer.get("services", []) if s.get("status") != "INACTIVE"]
        if not found:
            raise LookupError(f"service {service} not found in cluster {cluster}")
        return found[0]
    return describe


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: {message}\n")


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="check_deploy.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment, e.g. pre or prod")
    parser.add_argument("--task-definition-arn", required=True, help="the task definition just deployed")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, help="seconds to wait (900)")
    parser.add_argument("--poll", type=_seconds, default=DEFAULT_POLL, help="seconds between checks (15)")
    args = parser.parse_args(argv)
    try:
        env_conv = environment_conventions(load_conventions(os.getcwd()), args.env)
        family = conv(env_conv, "task_family", "environments.")
        match = _TASK_DEFINITION.match(args.task_definition_arn)
        if not match:
            raise InputError("--task-definition-arn", None, "must be a task definition ARN "
                             "(arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>)")
        if match.group(1) != family:
            raise InputError("--task-definition-arn", None,
                             f"is of family {quoted(match.group(1))}, not this service's {quoted(family)} in {args.env}")
    except InputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2

    import boto3  # only here: the renderer must not need it
    from botocore.exceptions import BotoCoreError, ClientError

    cluster = conv(env_conv, "cluster", "environments.")
    service = conv(env_conv, "ecs_service", "environments.")
    try:
        client = boto3.client("ecs", region_name=conv(env_conv, "aws_region", "environments."))
        passed, message = wait(describer(client, cluster, service), args.task_definition_arn,
                               timeout=args.timeout, poll=args.poll)
    except (BotoCoreError, ClientError, LookupError) as exc:
        passed, message = False, f"AWS: {' '.join(str(exc).split())}"
    if passed:
        print(message)
        return 0
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::error title=Deploy of {service} to {args.env} failed::{message}")
    sys.stderr.write(f"check_deploy.py: {service} in {cluster}: {message}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
