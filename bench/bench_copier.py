"""Copier-level benchmarks: lemi's template against Copier's own floor, in the same run.

- copy:   `copier copy` of the seed example, every hook included (the infra pull request
          to a local repository), vs `copier copy` of a one-file template.
- update: `copier update` across one template version of the seed example vs the same on
          the one-file template.
- cli:    `lemi new service` with the seed's flags vs the same `copier copy` without the CLI.

Every figure is the median wall time of whole commands, run the way a developer runs them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEED_DATA = {
    "repository": "klausapproves", "service_name": "klausapproves", "owners": "[klaus]",
    "environments": "[pre, prod]", "external": "true", "service_dependencies": "[bpg]",
    "datastore_dependencies": "[klausapproves-rds, klausapproves-cache]", "cpu": "256", "memory": "512",
    "autoscaling_max": "10",
}
SEED_FLAGS = ["-name=klausapproves", "-envs=pre,prod", "-external=true", "-svc-dependencies=bpg",
              "-datastore-dependencies=klausapproves-rds,klausapproves-cache", "-cpu=256", "-memory=512",
              "-auto-scaling=resource=cpu,min=1,max=10", "-owners=klaus"]
ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@lemi.invalid",
       "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@lemi.invalid",
       "GITHUB_TOKEN": "", "GH_TOKEN": ""}


def sh(*args: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(arg) for arg in args], cwd=cwd, env=ENV, check=True, capture_output=True)


def timed(*args: str | Path, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    sh(*args, cwd=cwd)
    return time.perf_counter() - start


def data_flags(data: dict[str, str]) -> list[str]:
    return [arg for key, value in data.items() for arg in ("-d", f"{key}={value}")]


def lemi_template(work: Path) -> Path:
    """This working tree as a released template (a git repository with a tag)."""
    repo = work / "lemi-template"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file() and not name.startswith(("tests/", "bench/", "scratch/")):
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    release(repo, "v1.0.0", init=True)
    return repo


def one_file_template(work: Path) -> Path:
    """Copier's floor: one question, one file."""
    repo = work / "floor-template"
    (repo / "template").mkdir(parents=True)
    (repo / "copier.yml").write_text("_subdirectory: template\nname:\n  type: str\n  default: x\n")
    (repo / "template" / "README.md.jinja").write_text("# {{ name }}\n")
    (repo / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml }}")
    release(repo, "v1.0.0", init=True)
    return repo


def release(repo: Path, tag: str, init: bool = False) -> None:
    if init:
        sh("git", "init", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", tag, cwd=repo)
    sh("git", "tag", tag, cwd=repo)


def infra_repo(work: Path) -> Path:
    bare = work / "infra.git"
    sh("git", "init", "-q", "--bare", "--initial-branch=main", bare)
    seed = work / "infra-seed"
    sh("git", "clone", "-q", bare, seed)
    (seed / "services" / "bpg").mkdir(parents=True)
    (seed / "services" / "bpg" / "main.tf").write_text("# bpg\n")
    sh("git", "add", "-A", cwd=seed)
    sh("git", "commit", "-q", "-m", "init", cwd=seed)
    sh("git", "push", "-q", "origin", "main", cwd=seed)
    return bare


def row(name: str, values: list[float], floors: list[float], goal: float) -> dict:
    value, floor = statistics.median(values), statistics.median(floors)
    return {"name": name, "value": value, "floor": floor, "ratio": value / floor, "goal": goal, "unit": "s"}


def run(repeats: int = 5) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="lemi-bench-") as scratch:
        work = Path(scratch)
        lemi, floor = lemi_template(work), one_file_template(work)
        infra = infra_repo(work)
        seed = {**SEED_DATA, "infra_repo": str(infra)}
        copier = BIN / "copier"

        copy_times, floor_copy_times, cli_times, plain_times = [], [], [], []
        for attempt in range(repeats):
            # Alternate the order so drift on a noisy machine hits both sides alike.
            copy_times.append(timed(copier, "copy", "--trust", "--defaults", "--quiet", *data_flags(seed),
                                    lemi, work / f"copy{attempt}"))
            floor_copy_times.append(timed(copier, "copy", "--trust", "--defaults", "--quiet", floor,
                                          work / f"floor{attempt}"))
            # Not quiet, like lemi: both print Copier's report of what they wrote.
            plain_times.append(timed(copier, "copy", "--trust", "--defaults", *data_flags(SEED_DATA),
                                     lemi, work / f"plain{attempt}" / "klausapproves"))
            cli_times.append(timed(BIN / "lemi", "new", "service", *SEED_FLAGS, f"-template={lemi}",
                                   f"-dest={work / f'cli{attempt}' / 'klausapproves'}"))

        # Update: each run needs its own project at v1.0.0, committed; then the templates move to v1.0.1.
        for project in [work / f"plain{attempt}" / "klausapproves" for attempt in range(repeats)] + \
                       [work / f"floor{attempt}" for attempt in range(repeats)]:
            sh("git", "init", "-q", cwd=project)
            sh("git", "add", "-A", cwd=project)
            sh("git", "commit", "-q", "-m", "generated", cwd=project)
        renderer = lemi / "template" / "{{ service_path }}" / ".lemi" / "render_taskdef.py"
        renderer.write_text(renderer.read_text() + "# v1.0.1\n")
        release(lemi, "v1.0.1")
        readme = floor / "template" / "README.md.jinja"
        readme.write_text(readme.read_text() + "v1.0.1\n")
        release(floor, "v1.0.1")
        update_times, floor_update_times = [], []
        for attempt in range(repeats):
            update_times.append(timed(copier, "update", "--trust", "--defaults", "--quiet",
                                      cwd=work / f"plain{attempt}" / "klausapproves"))
            floor_update_times.append(timed(copier, "update", "--trust", "--defaults", "--quiet",
                                            cwd=work / f"floor{attempt}"))

    return [
        row("copier copy, seed example + hooks vs one-file template", copy_times, floor_copy_times, 1.6),
        row("copier update, one version, seed vs one-file template", update_times, floor_update_times, 1.6),
        row("lemi new service vs copier copy (same answers)", cli_times, plain_times, 1.1),
    ]


if __name__ == "__main__":
    for result in run(int(sys.argv[1]) if len(sys.argv) > 1 else 5):
        print(f"{result['name']:<60} {result['value']:.3f}s / {result['floor']:.3f}s = {result['ratio']:.2f}x "
              f"(goal <= {result['goal']}x)")
