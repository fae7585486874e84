"""lemi's main job on the seed's example, start to finish, in one screen.

1. creates a local infra repository (scratch/infra.git) holding one existing service, bpg;
2. runs the seed's `lemi init service -name=klausapproves ...` into scratch/klausapproves,
   which proposes the service's Terraform on branch lemi/klausapproves of that repository;
3. fills in the seed's example variable and secret, as a developer would;
4. renders the ECS task definition for pre and prod with the service's vendored tool;
5. shows what it produced and what to do next.

Run it through `scripts/demo` (which installs lemi first). Everything lands in scratch/
(or the folder given as its argument), rebuilt on every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "scratch"
SEED_FLAGS = [
    "-name=klausapproves", "-envs=pre,prod", "-external=true", "-svc-dependencies=bpg",
    "-datastore-dependencies=klausapproves-rds,klausapproves-cache", "-cpu=256", "-memory=512",
    "-auto-scaling=resource=cpu,min=1,max=10",
]
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "lemi demo", "GIT_AUTHOR_EMAIL": "demo@lemi.invalid",
                "GIT_COMMITTER_NAME": "lemi demo", "GIT_COMMITTER_EMAIL": "demo@lemi.invalid"}


def run(*args: str | Path, cwd: Path = ROOT, env: dict | None = None) -> str:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **GIT_IDENTITY, **(env or {})})
    if result.returncode != 0:
        sys.exit(f"demo: {' '.join(map(str, args))} failed:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def make_infra_repo() -> Path:
    """A central Terraform repository with one service already in it (bpg, the seed's dependency)."""
    bare = SCRATCH / "infra.git"
    run("git", "init", "-q", "--bare", "--initial-branch=main", bare)
    with tempfile.TemporaryDirectory() as work:
        work_path = Path(work)
        run("git", "clone", "-q", bare, work_path / "infra")
        infra = work_path / "infra"
        # Static infrastructure the seed's example depends on, already provisioned.
        for folder in ("services/bpg", "static/klausapproves-rds", "static/klausapproves-cache"):
            (infra / folder).mkdir(parents=True)
            (infra / folder / "main.tf").write_text(f"# {folder}: already provisioned\n")
        (infra / "README.md").write_text("# infra\n\nThe central Terraform repository.\n")
        run("git", "add", ".", cwd=infra)
        run("git", "commit", "-q", "-m", "Initial infrastructure", cwd=infra)
        run("git", "push", "-q", "origin", "main", cwd=infra)
    return bare


def fill_in_seed_variables(service: Path) -> None:
    """The seed's example: one variable and one secret, referenced from the spec."""
    spec_path = service / "deploy" / "service.yaml"
    spec = spec_path.read_text().replace(
        "  environment: []",
        "  environment:\n"
        "    - key: KLAUSAPPROVES_VARIABLE\n"
        "      value: '{{ .Variables[\"klausApproves\"] }}'\n"
        "    - key: KLAUSAPPROVES_SECRET\n"
        "      value: '{{ .Variables[\"klausApiKey\"] }}'",
    )
    spec_path.write_text(spec)
    for env in ("pre", "prod"):
        (service / "deploy" / env / "config.yaml").write_text(
            "variables:\n"
            "  - key: klausApproves\n"
            f"    value: \"{'true' if env == 'pre' else 'false'}\"\n"
            "secrets:\n"
            "  - key: klausApiKey\n"
            f"    value: klausapproves/{env}/api.api_key\n"
        )


def main() -> None:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir()
    infra = make_infra_repo()
    service = SCRATCH / "klausapproves"
    lemi = Path(sys.executable).with_name("lemi")
    command = [lemi, "init", "service", *SEED_FLAGS, "-owners=klaus", f"-infra-repo={infra}",
               f"-dest={service}", "-vcs-ref=HEAD"]
    print("$ lemi init service " + " ".join(SEED_FLAGS) + " -owners=klaus -infra-repo=scratch/infra.git")
    output = run(*command, env={"GITHUB_TOKEN": "", "GH_TOKEN": ""})
    for line in output.splitlines():
        if line.startswith(("lemi:", "infra:", "warning:")):
            print("  " + line)

    files = sorted(str(path.relative_to(service)) for path in service.rglob("*") if path.is_file())
    top = sorted({name.split("/")[0] + ("/" if "/" in name else "") for name in files})
    print(f"\nGenerated {len(files)} files in {shown(service)}: {' '.join(top)}")

    branch = "lemi/klausapproves"
    log = run("git", "--git-dir", infra, "log", "--oneline", "-1", branch).strip()
    stat = run("git", "--git-dir", infra, "diff", "--stat", "main", branch).rstrip().splitlines()
    print(f"\nInfra pull request branch {branch} in {shown(infra)}: {log}")
    for line in stat:
        print("  " + line.strip())

    fill_in_seed_variables(service)
    print("\nFilled in the seed's variable and secret, then rendered the task definitions:")
    image_repository = json.loads((service / ".lemi" / "conventions.json").read_text())["image_repository"]
    for env in ("pre", "prod"):
        output_file = service / f"taskdef-{env}.json"
        tag = "3f2c1ab" if env == "pre" else "v1.0.0"  # develop builds are tagged by SHA, releases by version
        run(sys.executable, ".lemi/render_taskdef.py", "--env", env, "--image", f"{image_repository}:{tag}",
            "--output", output_file, cwd=service)
        taskdef = json.loads(output_file.read_text())
        container = taskdef["containerDefinitions"][0]
        environment = {item["name"]: item["value"] for item in container.get("environment", [])}
        secrets = {item["name"]: item["valueFrom"] for item in container.get("secrets", [])}
        ports = ",".join(str(port["containerPort"]) for port in container["portMappings"])
        print(f"  {env}: family {taskdef['family']}, cpu {taskdef['cpu']}, memory {taskdef['memory']}, ports {ports}")
        print(f"       image {container['image']}")
        print(f"       KLAUSAPPROVES_VARIABLE={environment.get('KLAUSAPPROVES_VARIABLE')}, "
              f"{len(environment)} variables in all; secret KLAUSAPPROVES_SECRET <- "
              f"{secrets.get('KLAUSAPPROVES_SECRET', 'missing')}")
        print(f"       written to {shown(output_file)}")

    print(
        "\nNext, as a developer:\n"
        f"  cd {shown(service)} && git init && git add . && git commit -m 'Deploy new service' && git push\n"
        "  (CI builds, tests, deploys develop to pre and v1.2.3 tags to prod; see its README.md)"
    )


if __name__ == "__main__":
    main()
