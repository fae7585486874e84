"""The infra pull request: propose a service's Terraform on the central infra repository.

``lemi infra-pr`` (and the Copier task ``hooks/after_render.py``, once per copy or update) writes
``services/<service>/`` (:mod:`lemi_hooks.terraform`) on branch ``lemi/<service>``
of the infra repository, pushes it and, when the repository is on GitHub and
``GITHUB_TOKEN`` or ``GH_TOKEN`` is set, opens the pull request or updates the
open one.

Cost does not grow with the services already there: one ``ls-remote`` for the
two refs it needs, then a depth-1, blob-less, sparse clone that fetches only the
commit, its trees and the blobs of the root and of ``services/<service>/``.

Faults (unreachable repository, rejected push, GitHub errors, timeouts) end in
one message that says what failed and how to retry; the caller decides the exit
code (the Copier task always exits 0, so generation never fails because of it).
A token only ever travels in the environment of the git and HTTP calls that
need it: never on a command line, in a URL, in a file or in a message.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from . import answers as answers_io
from . import terraform

RETRY_COMMAND = "lemi infra-pr"
REQUIRED_ANSWERS = ("service_name", "repository", "owners", "environments", "cpu", "memory")
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")
DEFAULT_AUTHOR = ("lemi", "lemi@users.noreply.github.com")
DEFAULT_GITHUB_API = "https://api.github.com"
GIT_TIMEOUT = float(os.environ.get("LEMI_GIT_TIMEOUT", "120"))
GITHUB_TIMEOUT = int(os.environ.get("LEMI_GITHUB_TIMEOUT", "30"))

_GITHUB_URL = re.compile(
    r"^(?:https://(?:[^/@]+@)?github\.com/|git@github\.com:|ssh://git@github\.com/)"
    r"(?P<owner>[A-Za-z0-9-]+)/(?P<name>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:")
_URL_USERINFO = re.compile(r"(?P<scheme>https?://)[^/@\s]+@", re.IGNORECASE)

# Askpass helper: answers git's prompts from the environment, so the token is
# never in a file, an argument or the remote URL.
_ASKPASS = '#!/bin/sh\ncase "$1" in\n  Username*) echo x-access-token ;;\n  *) printf "%s\\n" "$LEMI_GIT_TOKEN" ;;\nesac\n'


_LOCAL_UPLOAD_PACK = "git -c uploadpack.allowFilter=true upload-pack"


class InfraPRError(Exception):
    """One step failed: ``what`` for the user, ``detail`` from git or GitHub."""

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.detail = detail


@dataclass
class InfraRepo:
    spec: str                 # as the user gave it
    url: str                  # what git fetches and pushes
    github: str | None = None  # owner/name when the repository is on GitHub


@dataclass
class Outcome:
    branch: str
    pushed: bool = False
    commit: str = ""
    pull_request: str = ""
    pr_created: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _token() -> str:
    for name in TOKEN_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return ""


def redact(text: str) -> str:
    """``text`` without tokens: neither the environment's nor one written into a URL."""
    text = _URL_USERINFO.sub(r"\g<scheme>***@", text)
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name)
        if value:
            text = text.replace(value, "***")
    return text


def parse_infra_repo(spec: str, base: Path) -> InfraRepo:
    """Where the infra repository is: a GitHub owner/name or URL, another git URL,
    or a local path (as ``file://`` so a shallow clone stays shallow)."""
    spec = spec.strip()
    match = _GITHUB_URL.match(spec)
    if match:
        return InfraRepo(spec, spec, f"{match['owner']}/{match['name']}")
    if "://" in spec or _SCP_LIKE.match(spec):
        return InfraRepo(spec, spec)
    path = (base / Path(spec).expanduser()).resolve()
    if _GITHUB_NAME.match(spec) and not spec.startswith(".") and not path.exists():
        return InfraRepo(spec, f"https://github.com/{spec}.git", spec)
    return InfraRepo(spec, path.as_uri())


class _Git:
    """git with a timeout, no prompts, and the token (if any) only in the environment."""

    def __init__(self, repo: InfraRepo, workdir: Path) -> None:
        self.repo = repo
        self.env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
        self.env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        token = _token()
        if token and repo.url.startswith("https://"):
            askpass = workdir / "askpass.sh"
            askpass.write_text(_ASKPASS)
            askpass.chmod(0o700)
            self.env.update(GIT_ASKPASS=str(askpass), LEMI_GIT_TOKEN=token)

    def __call__(self, *args: str, cwd: Path | None = None, what: str, check: bool = True,
                 config: Sequence[str] = (), stdin: str | None = None) -> subprocess.CompletedProcess:
        command = ["git", *config, *args]
        # No stdin unless given: a git that wants to ask something must fail, not hang.
        feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
        try:
            done = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True,
                                  timeout=GIT_TIMEOUT, **feed)
        except subprocess.TimeoutExpired:
            raise InfraPRError(f"{what}: git did not finish within {GIT_TIMEOUT:g}s") from None
        except OSError as error:
            raise InfraPRError(f"{what}: could not run git ({error.strerror})") from None
        if check and done.returncode != 0:
            raise InfraPRError(what, _last_lines(done.stderr))
        return done


def _last_lines(stderr: str, count: int = 6) -> str:
    """What git said, without its hints and progress: the remote's own words come first."""
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith(("hint:", "To ")) and line.strip() != "remote:"]
    return redact("\n".join(lines[-count:]))


def _remote_refs(git: _Git, branch: str) -> tuple[str, str]:
    """(default branch, sha of ``branch`` or "") in one round trip."""
    done = git("ls-remote", "--symref", git.repo.url, "HEAD", f"refs/heads/{branch}",
               what=f"could not reach the infra repository {redact(git.repo.spec)}")
    default, sha = "", ""
    for line in done.stdout.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            default = line[len("ref: "):-len("\tHEAD")].removeprefix("refs/heads/")
        elif line.endswith(f"\trefs/heads/{branch}"):
            sha = line.split("\t", 1)[0]
    return default, sha


def _fetch(git: _Git, target: Path, base_branch: str) -> None:
    """A bare, depth-1, blob-less clone of ``base_branch``: the commit and its trees, no
    file contents, no checkout and no index, so nothing scales with the repository's files."""
    local = []
    if git.repo.url.startswith("file://"):
        # A local upload-pack ignores filters unless told (GitHub allows them), and git drops
        # the caller's -c settings for local transports, so the command itself carries it.
        local = ["--upload-pack", _LOCAL_UPLOAD_PACK, "--config", f"remote.origin.uploadpack={_LOCAL_UPLOAD_PACK}"]
    git("clone", "--quiet", "--bare", "--depth", "1", "--filter=blob:none", "--no-tags", *local,
        "--branch", base_branch, git.repo.url, str(target),
        what=f"could not clone the infra repository {redact(git.repo.spec)}")


def _tree_entries(git: _Git, repo: Path, tree_ish: str) -> dict[str, str]:
    """name -> ``mode type oid`` of one tree (empty when it does not exist)."""
    done = git("ls-tree", "-z", tree_ish, cwd=repo, check=False, what="git ls-tree")
    if done.returncode != 0:
        return {}
    entries = {}
    for record in filter(None, done.stdout.split("\0")):
        meta, name = record.split("\t", 1)
        entries[name] = meta
    return entries


def _make_tree(git: _Git, repo: Path, entries: Mapping[str, str]) -> str:
    listing = "".join(f"{meta}\t{name}\0" for name, meta in entries.items())
    return git("mktree", "-z", "--missing", cwd=repo, what="git mktree", stdin=listing).stdout.strip()


def missing_dependencies(git: _Git, repo: Path, answers: Mapping[str, Any], services: Mapping[str, str]) -> list[str]:
    """Dependencies the infra repository does not hold, by its layout convention: a
    service in ``services/<name>/``, a datastore in ``static/<name>/``. Reads tree
    objects only, already in the blob-less clone."""
    missing = [f"{terraform.SERVICES_DIR}/{name}/" for name in answers.get("service_dependencies") or []
               if name not in services]
    datastores = answers.get("datastore_dependencies") or []
    if datastores:
        static = _tree_entries(git, repo, f"HEAD:{terraform.STATIC_DIR}")
        missing += [f"{terraform.STATIC_DIR}/{name}/" for name in datastores if name not in static]
    return missing


def _identity(git: _Git, repo: Path) -> list[str]:
    """Git's own identity when it has one; lemi's otherwise, so a fresh machine can commit."""
    if os.environ.get("GIT_AUTHOR_EMAIL") and os.environ.get("GIT_COMMITTER_EMAIL"):
        return []
    done = git("config", "--get", "user.email", cwd=repo, check=False, what="git config")
    if done.returncode == 0 and done.stdout.strip():
        return []
    name = os.environ.get("LEMI_GIT_AUTHOR_NAME", DEFAULT_AUTHOR[0])
    email = os.environ.get("LEMI_GIT_AUTHOR_EMAIL", DEFAULT_AUTHOR[1])
    return ["-c", f"user.name={name}", "-c", f"user.email={email}"]


def title(answers: Mapping[str, Any]) -> str:
    return f"lemi: infrastructure for {answers['service_name']} ({', '.join(answers['environments'])})"


def commit_message(answers: Mapping[str, Any]) -> str:
    lines = [title(answers), ""]
    for env, items in terraform.summary(answers).items():
        lines.append(f"{env}:")
        lines += [f"- {item.replace('`', '')}" for item in items]
    lines += ["", f"Proposed by lemi from {answers['repository']}'s answers; regenerate with `{RETRY_COMMAND}`."]
    return "\n".join(lines) + "\n"


def push_branch(repo: InfraRepo, answers: Mapping[str, Any], files: Mapping[str, str],
                outcome: Outcome, default_branch_hint: list[str]) -> None:
    """Write ``services/<service>/`` on ``lemi/<service>`` and push it when it changed.

    The new commit is built from tree objects (``mktree``/``commit-tree``): only the
    root, ``services/`` and the service's own folder are read or written, whatever
    else the repository holds. Files lemi does not generate in that folder are kept.
    """
    service = answers["service_name"]
    folder = f"{terraform.SERVICES_DIR}/{service}"
    with tempfile.TemporaryDirectory(prefix="lemi-infra-") as tmp:
        git = _Git(repo, Path(tmp))
        default, remote_sha = _remote_refs(git, outcome.branch)
        default_branch_hint.append(default)
        clone = Path(tmp) / "infra.git"
        base = outcome.branch if remote_sha else default
        if base:
            _fetch(git, clone, base)
        else:  # an empty repository: the branch starts from nothing
            git("init", "--quiet", "--bare", str(clone), what="git init")
        parent = remote_sha or (git("rev-parse", "HEAD", cwd=clone, what="git rev-parse").stdout.strip() if base else "")

        root = _tree_entries(git, clone, "HEAD^{tree}") if parent else {}
        services = _tree_entries(git, clone, f"HEAD:{terraform.SERVICES_DIR}") if parent else {}
        outcome.warnings += [
            f"dependency not found in the infra repository (looked for {path}); check the name in the answers"
            for path in missing_dependencies(git, clone, answers, services)
        ] if parent else []
        own = _tree_entries(git, clone, f"HEAD:{folder}") if service in services else {}

        sources = Path(tmp) / "files"
        sources.mkdir()
        for name, text in files.items():
            (sources / name).write_text(text, encoding="utf-8")
        blobs = git("hash-object", "-w", "--stdin-paths", cwd=clone, what="git hash-object",
                    stdin="".join(f"{sources / name}\n" for name in files)).stdout.split()
        own.update({name: f"100644 blob {oid}" for name, oid in zip(files, blobs)})
        services[service] = f"040000 tree {_make_tree(git, clone, own)}"
        root[terraform.SERVICES_DIR] = f"040000 tree {_make_tree(git, clone, services)}"
        tree = _make_tree(git, clone, root)

        if parent and tree == git("rev-parse", "HEAD^{tree}", cwd=clone, what="git rev-parse").stdout.strip():
            outcome.notes.append(f"{folder}/ on {base} is already up to date")
            outcome.pushed = bool(remote_sha)
            return
        message = Path(tmp) / "message.txt"
        message.write_text(commit_message(answers), encoding="utf-8")
        outcome.commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-F", str(message),
                             cwd=clone, what="git commit-tree", config=_identity(git, clone)).stdout.strip()
        # lemi owns the branch; the lease only refuses to clobber a push made since we looked.
        git("push", "--quiet", f"--force-with-lease=refs/heads/{outcome.branch}:{remote_sha}",
            repo.url, f"{outcome.commit}:refs/heads/{outcome.branch}", cwd=clone,
            what=f"could not push {outcome.branch} to {redact(repo.spec)}")
        outcome.pushed = True


_STATUS_MEANING = {
    401: "the token was refused (check GITHUB_TOKEN / GH_TOKEN)",
    403: "the token may not open pull requests there, or the rate limit was hit",
    404: "the repository was not found, or the token cannot see it",
    422: "GitHub refused the pull request",
}


def open_pull_request(full_name: str, branch: str, base: str, pr_title: str, body: str, token: str) -> tuple[str, bool]:
    """Open the pull request for ``branch``, or update the open one. (url, created)."""
    import github  # only here: PyGithub is heavy and only this step needs it
    import requests
    from urllib3.util.retry import Retry

    api = os.environ.get("LEMI_GITHUB_API_URL") or DEFAULT_GITHUB_API
    where = f"GitHub ({full_name})"
    try:
        client = github.Github(
            auth=github.Auth.Token(token), base_url=api.rstrip("/"), timeout=GITHUB_TIMEOUT,
            # Reads retry a transient 5xx once; writes never, so a retry cannot open a second PR.
            retry=Retry(total=1, backoff_factor=0.2, status_forcelist=(502, 503, 504), raise_on_status=False),
            seconds_between_requests=None, seconds_between_writes=None,
        )
        repo = client.get_repo(full_name)
        owner = full_name.split("/", 1)[0]
        for pull in repo.get_pulls(state="open", head=f"{owner}:{branch}"):
            pull.edit(title=pr_title, body=body)
            return pull.html_url, False
        pull = repo.create_pull(base=base or repo.default_branch, head=branch, title=pr_title, body=body)
        return pull.html_url, True
    except github.GithubException as error:
        meaning = _STATUS_MEANING.get(error.status) or (
            "GitHub failed on its side" if error.status and error.status >= 500 else "GitHub answered with an error")
        raise InfraPRError(f"{where} answered {error.status}: {meaning}", redact(_github_detail(error))) from None
    except requests.exceptions.RequestException as error:
        # Exhausted retries wrap the timeout in a ConnectionError.
        if isinstance(error, requests.exceptions.Timeout) or "timed out" in str(error):
            raise InfraPRError(f"{where} did not answer within {GITHUB_TIMEOUT}s") from None
        raise InfraPRError(f"could not reach {where} at {redact(api)}", redact(type(error).__name__)) from None


def _github_detail(error: Any) -> str:
    data = error.data if isinstance(error.data, dict) else {}
    details = [str(item.get("message")) for item in data.get("errors") or [] if isinstance(item, dict) and item.get("message")]
    return "; ".join([str(data.get("message") or "")] + details).strip("; ")


def propose(project: Path, answers: Mapping[str, Any], infra_repo: str, outcome: Outcome | None = None) -> Outcome:
    """Push ``services/<service>/`` and open or update the pull request. Raises InfraPRError
    (``outcome``, when given, keeps what was learnt before the failure: warnings)."""
    outcome = outcome or Outcome(branch=f"lemi/{answers['service_name']}")
    repo = parse_infra_repo(infra_repo, project)
    files = terraform.service_files(answers, **_pinned_modules(project, answers))
    defaults: list[str] = []
    push_branch(repo, answers, files, outcome, defaults)
    token = _token()
    if not repo.github:
        if outcome.pushed:
            outcome.notes.append(f"open a pull request from {outcome.branch} in {redact(repo.spec)}")
        return outcome
    if not outcome.pushed:
        return outcome
    if not token:
        base = defaults[0] if defaults and defaults[0] else "main"
        outcome.notes.append(
            f"no GITHUB_TOKEN or GH_TOKEN is set, so no pull request was opened: open it at "
            f"https://github.com/{repo.github}/compare/{base}...{outcome.branch}?expand=1 "
            f"or set a token and run `{RETRY_COMMAND}`")
        return outcome
    try:
        outcome.pull_request, outcome.pr_created = open_pull_request(
            repo.github, outcome.branch, defaults[0] if defaults else "", title(answers),
            terraform.describe(answers), token)
    except InfraPRError as error:
        if "No commits between" in error.detail:  # the branch is already merged: nothing to propose
            outcome.notes.append(f"{outcome.branch} holds nothing new for {repo.github}; no pull request needed")
            return outcome
        error.what = f"{outcome.branch} is pushed, but the pull request is not: {error.what}"
        raise
    return outcome


def _pinned_modules(project: Path, answers: Mapping[str, Any]) -> dict[str, str]:
    """The module source and version the service's template version pins (its conventions.json),
    so an older or newer lemi installed here proposes what the service was rendered for."""
    conventions = project / str(answers.get("service_path") or ".") / ".lemi" / "conventions.json"
    try:
        data = json.loads(conventions.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    pinned = {"source": data.get("terraform_module_source"), "version": data.get("terraform_module_version")}
    return {key: value for key, value in pinned.items() if isinstance(value, str) and value}


def _destination_root(answers_path: Path, answers: Mapping[str, Any]) -> Path:
    """The repository folder Copier rendered into (relative infra paths are relative to it)."""
    folder = answers_path.parent
    depth = len(Path(str(answers.get("service_path") or ".")).parts) if answers.get("service_path") not in (None, "", ".") else 0
    return folder.parents[depth - 1] if depth else folder


def retry_hint(service_folder: Path, answers_name: str, infra_override: str | None) -> str:
    command = RETRY_COMMAND
    if answers_name != answers_io.DEFAULT_ANSWERS_FILE:
        command += f" --answers-file {shlex.quote(answers_name)}"
    if infra_override:
        command += f" --infra-repo {shlex.quote(redact(infra_override))}"
    return f"To retry just this step, run in {service_folder}:\n    {command}"


def _print_warnings(outcome: Outcome) -> None:
    for warning in outcome.warnings:
        print(f"lemi: warning: {warning}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=RETRY_COMMAND, description=(
        "Propose the service's Terraform on the central infra repository: branch lemi/<service>, "
        "services/<service>/, and the pull request when the repository is on GitHub and "
        "GITHUB_TOKEN or GH_TOKEN is set. Run it in the service's folder."))
    parser.add_argument("--infra-repo", help="git URL, owner/name on GitHub, or a local path (default: the answers' infra_repo)")
    parser.add_argument("--answers-file", default=answers_io.DEFAULT_ANSWERS_FILE,
                        help="the service's Copier answers file, relative to --project (default: %(default)s)")
    parser.add_argument("--project", default=".", help="where the answers file is relative to (default: the current folder)")
    args = parser.parse_args(argv)

    project = Path(args.project).resolve()
    answers_path = project / args.answers_file
    try:
        answers = answers_io.load(project, args.answers_file)
        missing = [name for name in REQUIRED_ANSWERS if name not in answers]
        if missing:
            raise ValueError(f"it has no {', '.join(missing)}")
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"lemi infra-pr: cannot read the service's answers at {answers_path}: {error}. "
              "Run it in the service's folder (where .copier-answers.yml is).", file=sys.stderr)
        return 2
    infra_repo = args.infra_repo or answers.get("infra_repo") or ""
    if not infra_repo:
        print("lemi infra-pr: no infra repository: pass --infra-repo <owner/name, git URL or path> "
              "(or answer infra_repo).", file=sys.stderr)
        return 2
    service_folder = answers_path.parent
    outcome = Outcome(branch=f"lemi/{answers['service_name']}")
    try:
        propose(_destination_root(answers_path, answers), answers, infra_repo, outcome)
    except InfraPRError as error:
        _print_warnings(outcome)
        detail = "".join(f"\n      {line}" for line in error.detail.splitlines())
        print(f"lemi: the infra pull request step failed: {error.what}{detail}\n"
              f"  The service itself is generated; nothing is lost.\n"
              f"  {retry_hint(service_folder, answers_path.name, args.infra_repo)}", file=sys.stderr)
        return 1
    _print_warnings(outcome)
    if outcome.commit:
        print(f"lemi: pushed {outcome.branch} to {redact(infra_repo)} "
              f"(services/{answers['service_name']}/, commit {outcome.commit[:12]})")
    for note in outcome.notes:
        print(f"lemi: {note}")
    if outcome.pull_request:
        print(f"lemi: infra pull request {'opened' if outcome.pr_created else 'updated'}: {outcome.pull_request}")
    if args.infra_repo and args.infra_repo != answers.get("infra_repo"):
        # Later `copier update`s refresh the pull request only for a recorded infra_repo.
        answers_io.record(project, args.answers_file, "infra_repo", args.infra_repo)
        print(f"lemi: recorded infra_repo in {answers_path}; `copier update` will keep the pull request current "
              "(commit that file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
