"""`lemi update`: bring the template's latest conventions into the services of a repository.

It runs `copier update` for each service (each has its own answers file) and then does
what Copier does not: Copier exits 0 even when it leaves conflict markers, so this looks
for them and fails, naming every conflicted file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from . import answers as answers_module

CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ")


def find_answers_files(repo: Path) -> list[Path]:
    """Every service answers file in the repository, relative to it; the root one first."""
    return [path.relative_to(repo)
            for path in answers_module.find_in_repository(repo, answers_module.DEFAULT_ANSWERS_FILE)]


def conflicted_files(repo: Path) -> list[str]:
    """Files an update left with conflict markers or .rej rejects (changed or new files only)."""
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout
    conflicted = []
    for line in status.splitlines():
        name = line[3:].strip().strip('"')
        if " -> " in name:
            name = name.split(" -> ", 1)[1]
        path = repo / name
        if name.endswith(".rej"):
            conflicted.append(name)
            continue
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if any(row.startswith(CONFLICT_MARKERS) for row in text.splitlines()):
            conflicted.append(name)
    return sorted(conflicted)


def git_toplevel(path: Path) -> Path | None:
    result = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path, capture_output=True,
                            text=True, check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def update_service(repo: Path, answers_file: Path, data: dict[str, str], vcs_ref: str | None) -> None:
    import warnings

    from copier import run_update

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_update(str(repo), answers_file=str(answers_file), data=data, defaults=True, unsafe=True,
                   overwrite=True, conflict="inline", vcs_ref=vcs_ref)


def _parse_data(pairs: list[str]) -> dict[str, str]:
    data = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--data: expected QUESTION=VALUE, got {pair!r}")
        data[key] = value
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lemi update", description=__doc__.splitlines()[0])
    parser.add_argument("--service", help="update only this service (default: every service in the repository)")
    parser.add_argument("--data", action="append", default=[], metavar="QUESTION=VALUE",
                        help="answer a question differently, e.g. --data autoscaling_max=20")
    parser.add_argument("--vcs-ref", help="template version to update to (default: its latest release)")
    args = parser.parse_args(argv)
    try:
        data = _parse_data(args.data)
    except ValueError as error:
        print(f"lemi: {error}", file=sys.stderr)
        return 2
    repo = git_toplevel(Path.cwd())
    if repo is None:
        print("lemi: update works in a git repository: run it in the service's repository", file=sys.stderr)
        return 2
    services = []
    for answers_file in find_answers_files(repo):
        name = answers_module.load(repo, answers_file).get("service_name")
        if args.service in (None, name):
            services.append((name, answers_file))
    if not services:
        wanted = f"service {args.service!r}" if args.service else "a lemi service"
        print(f"lemi: found no {wanted} (no .copier-answers.yml) in {repo}", file=sys.stderr)
        return 2
    if data and len(services) > 1:
        print("lemi: --data answers one service: add --service NAME", file=sys.stderr)
        return 2
    for name, answers_file in services:
        print(f"lemi: updating {name} ({answers_file})", file=sys.stderr)
        try:
            update_service(repo, answers_file, data, args.vcs_ref)
        except ValueError as error:
            print(f"lemi: {name}: {error}", file=sys.stderr)
            return 2
        except Exception as error:  # Copier's own errors: dirty repository, unreachable template...
            print(f"lemi: {name}: copier update failed: {error}", file=sys.stderr)
            return 1
    conflicts = conflicted_files(repo)
    if conflicts:
        print("lemi: the update left conflicts to resolve (search for <<<<<<<), then commit:", file=sys.stderr)
        for name in conflicts:
            print(f"  {name}", file=sys.stderr)
        return 1
    print("lemi: updated; review with 'git diff' and commit", file=sys.stderr)
    return 0
