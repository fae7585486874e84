"""The infra pull request hook: its cost must not grow with the services already in the infra repo.

Runs `hooks/after_render.py` (the Copier task, as Copier runs it) against an infra
repository holding 1,000 services and against one holding none, interleaved in
the same run; each run proposes a new service, so both take the full path
(ls-remote, sparse clone, dependency check, commit, push). Goal: <= 1.2x.

    python bench/bench_infra.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HOOK = ROOT / "hooks" / "after_render.py"
SERVICES = 1000
GOAL = 1.2
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@lemi.invalid",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@lemi.invalid",
       "GITHUB_TOKEN": "", "GH_TOKEN": ""}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def infra_repo(work: Path, name: str, services: int) -> Path:
    """A bare infra repository with ``services`` services shaped like lemi's own output."""
    sys.path.insert(0, str(ROOT))
    from lemi_hooks import terraform

    tree = work / f"{name}-tree"
    (tree / "static" / "bpg-rds").mkdir(parents=True)
    (tree / "static" / "bpg-rds" / "main.tf").write_text("# bpg's database\n")
    (tree / "README.md").write_text("# infra\n")
    for index in range(services):
        service = f"svc{index:04d}"
        answers = {"repository": service, "service_name": service, "owners": ["owner"], "environments": ["pre", "prod"],
                   "external": index % 2 == 0, "service_dependencies": [], "datastore_dependencies": [],
                   "cpu": "256", "memory": "512"}
        folder = tree / "services" / service
        folder.mkdir(parents=True)
        for file_name, text in terraform.service_files(answers).items():
            (folder / file_name).write_text(text)
    git(tree, "init", "-q")
    git(tree, "add", ".")
    git(tree, "commit", "-q", "-m", f"{services} services")
    bare = work / f"{name}.git"
    git(work, "clone", "-q", "--bare", str(tree), str(bare))
    # Packed, as every hosted repository is: serving thousands of loose objects measures the disk, not lemi.
    git(bare, "repack", "-adq")
    return bare


def service_folder(work: Path, service: str, infra: Path) -> Path:
    folder = work / "services" / service
    folder.mkdir(parents=True)
    answers = {"repository": "bench", "service_name": service, "owners": ["owner"], "environments": ["pre", "prod"],
               "external": True, "domain": "", "service_dependencies": ["svc0001"], "datastore_dependencies": ["bpg-rds"],
               "cpu": "256", "memory": "512", "autoscaling_resource": "cpu", "autoscaling_min": 1,
               "autoscaling_max": 4, "autoscaling_target": 70, "service_path": ".", "infra_repo": str(infra)}
    (folder / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    return folder


def timed_hook(folder: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(HOOK), ".copier-answers.yml"], cwd=folder, env=ENV,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if "pushed lemi/" not in done.stdout:
        raise RuntimeError(f"the hook did not push:\n{done.stdout}{done.stderr}")
    return elapsed


def run(repeats: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="lemi-bench-infra-") as tmp:
        work = Path(tmp)
        empty, full = infra_repo(work, "empty", 0), infra_repo(work, "full", SERVICES)
        times: dict[str, list[float]] = {"empty": [], "full": []}
        for index in range(repeats + 1):  # the first round warms caches and is dropped
            for name, repo in (("empty", empty), ("full", full)):
                elapsed = timed_hook(service_folder(work, f"bench-{name}-{index}", repo))
                if index:
                    times[name].append(elapsed)
        value, floor = statistics.median(times["full"]), statistics.median(times["empty"])
        return [{"name": f"infra hook: {SERVICES:,} services vs none", "value": value, "floor": floor,
                 "ratio": value / floor, "goal": GOAL, "unit": "s"}]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    rows = run(parser.parse_args().repeats)
    for row in rows:
        print(f"{row['name']}: {row['value'] * 1000:.0f} ms vs {row['floor'] * 1000:.0f} ms, "
              f"{row['ratio']:.2f}x (goal <= {row['goal']}x)")
    sys.exit(0 if all(row["ratio"] <= row["goal"] for row in rows) else 1)
