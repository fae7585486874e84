"""Does a push or pull request change this service? Run from the service's folder.

    python3 .lemi/changes.py --base SHA --head SHA [--service NAME]

In a repository that holds several services, a service at the repository's root would
otherwise build and deploy for every other service's change: GitHub's path filters cannot
say "everything but the folders that hold another service". This tells, and appends
`relevant=true|false` to $GITHUB_OUTPUT (and prints it).

The changed files come from git when both commits are at hand, else from GitHub's compare
API (GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN). It fails open: with no base (a new
branch, a tag) or when the changed files cannot be known, everything is relevant.
Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

ANSWERS_FILE = ".copier-answers.yml"
NO_COMMIT = "0" * 40
# The workflows lemi renders for a service, at the repository's root.
LEMI_WORKFLOW = re.compile(r"^\.github/workflows/(?P<service>.+)-(?:ci|deploy|rollback|template-update)\.yml$")


def git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def repository_folder() -> str | None:
    """This service's folder relative to the repository's root ('' at the root)."""
    prefix = git("rev-parse", "--show-prefix")
    return None if prefix is None else prefix.strip().rstrip("/")


def service_folders() -> list[str]:
    """Every folder of the repository holding a service (its own Copier answers file)."""
    top = git("rev-parse", "--show-toplevel")
    listed = git("-C", top.strip(), "ls-files", "--", f"*/{ANSWERS_FILE}", ANSWERS_FILE) if top else None
    folders = set()
    for path in (listed or "").splitlines():
        if path == ANSWERS_FILE:
            folders.add("")
        elif path.endswith("/" + ANSWERS_FILE):
            folders.add(path[: -len(ANSWERS_FILE) - 1])
    return sorted(folders)


def changed_from_git(base: str, head: str) -> list[str] | None:
    listed = git("diff", "--name-only", "--no-renames", base, head, "--")
    return None if listed is None else [line for line in listed.splitlines() if line]


def changed_from_github(base: str, head: str) -> list[str] | None:
    api, repository, token = (os.environ.get(name) for name in ("GITHUB_API_URL", "GITHUB_REPOSITORY", "GITHUB_TOKEN"))
    if not (api and repository and token):
        return None
    files: list[str] = []
    url: str | None = f"{api}/repos/{repository}/compare/{base}...{head}?per_page=100"
    try:
        for _ in range(30):  # 3,000 files at most, the API's own limit
            if not url:
                break
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}",
                                                           "Accept": "application/vnd.github+json"})
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the GitHub API
                page = json.load(response)
                files += [item["filename"] for item in page.get("files", [])]
                url = _next_link(response.headers.get("Link", ""))
    except (OSError, ValueError, KeyError):
        return None
    return files


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        if 'rel="next"' in part:
            return part.split(";", 1)[0].strip().strip("<>")
    return None


def is_relevant(changed: list[str], own: str, services: list[str], service: str | None) -> bool:
    """True when a changed file belongs to the service in ``own`` ('' for the root): inside its
    folder but not inside another service's folder nested there, or one of its workflows."""
    nested = [folder for folder in services if folder != own and (own == "" or folder.startswith(own + "/"))]
    for path in changed:
        workflow = LEMI_WORKFLOW.match(path)
        if workflow:
            if workflow["service"] == service:
                return True
            continue
        if own and not path.startswith(own + "/"):
            continue
        if not any(path.startswith(folder + "/") for folder in nested):
            return True
    return False


def decide(base: str, head: str, service: str | None) -> tuple[bool, str]:
    if not base or base == NO_COMMIT or not head:
        return True, "no base commit to compare with"
    own = repository_folder()
    if own is None:
        return True, "not in a git repository"
    changed = changed_from_git(base, head)
    if changed is None:
        changed = changed_from_github(base, head)
    if changed is None:
        return True, "the changed files could not be listed"
    relevant = is_relevant(changed, own, service_folders(), service)
    return relevant, f"{len(changed)} changed file(s), {'some' if relevant else 'none'} of this service's"


def main(argv: list[str]) -> int:
    options = {"--base": "", "--head": "", "--service": ""}
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag not in options or not args:
            print(f"changes.py: usage: --base SHA --head SHA [--service NAME] (got {flag!r})", file=sys.stderr)
            return 2
        options[flag] = args.pop(0)
    relevant, why = decide(options["--base"], options["--head"], options["--service"] or None)
    line = f"relevant={'true' if relevant else 'false'}"
    print(f"{line} ({why})")
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
