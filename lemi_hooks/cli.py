"""The ``lemi`` console script: the seed's CLI, mapped onto Copier.

    lemi new service -name=svc-name -envs=pre,prod -domain=svc.lemon.me
    lemi init service -name=klausapproves -envs=pre,prod -external=true \\
        -svc-dependencies=bpg -datastore-dependencies=klausapproves-rds,klausapproves-cache \\
        -cpu=256 -memory=512 -auto-scaling=resource=cpu,min=1,max=10
    lemi infra-pr [--infra-repo REPO]      (re)open the infra pull request of the service here

It only turns flags into Copier answers and runs Copier: the rules for every
answer are copier.yml's validators (lemi_hooks.validation), not repeated here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

USAGE = """\
usage: lemi new service -name=NAME [-envs=pre,prod] [-owners=alice,bob] [-external=true|false]
                        [-domain=HOST] [-svc-dependencies=a,b] [-datastore-dependencies=x-rds,x-cache]
                        [-cpu=256] [-memory=512] [-auto-scaling=resource=cpu,min=1,max=10,target=70]
                        [-repository=NAME] [-infra-repo=REPO] [-template=PATH_OR_URL] [-vcs-ref=REF]
                        [-dest=DIR]
       lemi init service ...        (the same)
       lemi infra-pr [--infra-repo REPO] [--answers-file FILE]
       lemi update [--service NAME] [--data QUESTION=VALUE] [--vcs-ref REF]   (copier update, conflicts reported)
Flags take one or two dashes and '=VALUE' or ' VALUE'. Run it in your repository: it renders
into the current folder unless -dest is given."""

_COPIER_ANSWER_ERROR = re.compile(
    r"^(?:Validation error for question|Invalid choice for) '(?P<question>[^']+)': (?P<rule>.*)$", re.DOTALL
)


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit code 2."""


def _split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _parse_bool(flag: str) -> Callable[[str], bool]:
    def parse(value: str) -> bool:
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"-{flag}: expected true or false, got {value!r}")
    return parse


def _parse_autoscaling(value: str) -> dict[str, Any]:
    keys = {"resource": "autoscaling_resource", "min": "autoscaling_min",
            "max": "autoscaling_max", "target": "autoscaling_target"}
    answers: dict[str, Any] = {}
    for part in _split_list(value):
        key, sep, raw = part.partition("=")
        if not sep or key not in keys:
            raise UsageError(
                f"-auto-scaling: {part!r} is not one of resource=cpu|memory, min=N, max=N, target=N"
            )
        if key == "resource":
            answers[keys[key]] = raw
        else:
            try:
                answers[keys[key]] = int(raw)
            except ValueError:
                raise UsageError(f"-auto-scaling: {key} must be a whole number, got {raw!r}") from None
    return answers


# flag -> (answer name, parser). Parsers only change shape; Copier's validators judge values.
ANSWER_FLAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "name": ("service_name", str.strip),
    "repository": ("repository", str.strip),
    "envs": ("environments", _split_list),
    "owners": ("owners", lambda value: [login.lstrip("@") for login in _split_list(value)]),
    "external": ("external", _parse_bool("external")),
    "domain": ("domain", str.strip),
    "svc-dependencies": ("service_dependencies", _split_list),
    "datastore-dependencies": ("datastore_dependencies", _split_list),
    "cpu": ("cpu", str.strip),
    "memory": ("memory", str.strip),
    "infra-repo": ("infra_repo", str.strip),
}
OTHER_FLAGS = {"auto-scaling", "template", "dest", "vcs-ref"}


def parse_flags(args: Sequence[str]) -> dict[str, str]:
    """``-flag=value``, ``--flag=value``, ``-flag value``; returns {flag: raw value}."""
    known = set(ANSWER_FLAGS) | OTHER_FLAGS
    flags: dict[str, str] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            raise UsageError(f"unexpected argument {arg!r} (flags look like -name=VALUE)")
        name, sep, value = arg.lstrip("-").partition("=")
        if name not in known:
            raise UsageError(f"unknown flag -{name} (see 'lemi --help')")
        if not sep:
            if position >= len(args):
                raise UsageError(f"-{name} needs a value")
            value = args[position]
            position += 1
        if name in flags:
            raise UsageError(f"-{name} is given twice")
        flags[name] = value
    return flags


def flags_to_answers(flags: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for flag, (answer, parse) in ANSWER_FLAGS.items():
        if flag in flags:
            answers[answer] = parse(flags[flag])
    if "auto-scaling" in flags:
        answers.update(_parse_autoscaling(flags["auto-scaling"]))
    # Seed: "-domain=svc.lemon.me" alone asks for a public service.
    if answers.get("domain") and "external" not in answers:
        answers["external"] = True
    return answers


def default_template() -> str:
    """LEMI_TEMPLATE, else the template checkout this package runs from, else the platform's URL."""
    if os.environ.get("LEMI_TEMPLATE"):
        return os.environ["LEMI_TEMPLATE"]
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "copier.yml").is_file() and (checkout / "template").is_dir():
        return str(checkout)
    from . import platform

    return platform.settings()["template_url"]


def _git_output(cwd: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def default_owners(dest: Path) -> list[str]:
    """Who runs lemi owns the service unless told otherwise: an existing OWNERS file, then the
    GitHub login the machine knows ($GITHUB_USER, $GITHUB_ACTOR in Actions, `git config
    github.user`, the GitHub CLI's login, a GitHub noreply e-mail). Never a guess from the
    OS user name: owners get ECS Exec access, so a wrong one is worse than asking."""
    from . import owners as owners_file

    existing = dest / "OWNERS"
    if existing.is_file():
        return owners_file.read_owners(existing)
    probe = dest if dest.is_dir() else Path.cwd()
    login = (os.environ.get("GITHUB_USER") or os.environ.get("GITHUB_ACTOR")
             or _git_output(probe, "config", "--get", "github.user") or _github_cli_login())
    if login:
        return [login]
    email = _git_output(probe, "config", "--get", "user.email")
    if email.endswith("@users.noreply.github.com"):
        return [email.split("@", 1)[0].split("+")[-1]]
    return []


def _github_cli_login() -> str:
    """The login `gh auth login` recorded for github.com, if any."""
    config_home = Path(os.environ.get("GH_CONFIG_DIR") or Path(os.environ.get("XDG_CONFIG_HOME")
                       or Path.home() / ".config") / "gh")
    try:
        import yaml

        hosts = yaml.safe_load((config_home / "hosts.yml").read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, ImportError):
        return ""
    login = (hosts.get("github.com") or {}).get("user") if isinstance(hosts, dict) else None
    return login if isinstance(login, str) else ""


def default_repository(dest: Path, service_name: str | None) -> str | None:
    """The repository's name: the git top-level folder when ``dest`` is an existing folder in
    one; otherwise ``dest``'s own name, or the service's name when that folder's name cannot
    prefix it (a scratch folder that is not a repository yet)."""
    from .validation import NAME_PATTERN

    toplevel = _git_output(dest, "rev-parse", "--show-toplevel") if dest.is_dir() else ""
    if toplevel:
        return Path(toplevel).name
    folder = dest.resolve().name
    if service_name and NAME_PATTERN.match(service_name) and not service_name.startswith(folder):
        return service_name
    return folder


def placement(dest: Path, service_name: str | None) -> tuple[str, str]:
    """(service_path, answers file) for a new service in ``dest``.

    A repository that already holds a service gets the new one in its own folder,
    with its own answers file, so neither clobbers the other.
    """
    from .answers import DEFAULT_ANSWERS_FILE as ANSWERS_FILE, service_name_in

    if not (dest / ANSWERS_FILE).is_file():
        return ".", ANSWERS_FILE
    existing = service_name_in(dest)
    if existing == service_name:
        raise UsageError(
            f"-name: {service_name!r} already lives here; to change it run 'copier update --trust' in {dest}"
        )
    if not service_name:
        raise UsageError("-name: this repository already holds a service; name the new one with -name=")
    if (dest / service_name / ANSWERS_FILE).is_file():
        raise UsageError(f"-name: {service_name!r} already lives in {dest / service_name}")
    return service_name, f"{service_name}/{ANSWERS_FILE}"


def new_service(args: Sequence[str]) -> int:
    flags = parse_flags(args)
    answers = flags_to_answers(flags)
    dest = Path(flags.get("dest", ".")).expanduser()
    service_name = answers.get("service_name")
    if "repository" not in answers:
        repository = default_repository(dest, service_name)
        if repository:
            answers["repository"] = repository
    if "owners" not in answers:
        owners = default_owners(dest)
        if not owners:
            raise UsageError("-owners: give at least one GitHub login, e.g. -owners=alice,bob")
        answers["owners"] = owners
    service_path, answers_file = placement(dest, service_name)
    answers["service_path"] = service_path
    template = flags.get("template") or default_template()
    if Path(template).expanduser().is_dir():
        # Copier records the template's path for later updates: a relative one breaks them.
        template = str(Path(template).expanduser().resolve())
    return run_copier(template, dest, answers, answers_file, flags.get("vcs-ref") or default_vcs_ref(template))


def default_vcs_ref(template: str) -> str | None:
    """Copier takes a template's latest release tag; a local checkout without tags renders its HEAD."""
    path = Path(template)
    if path.is_dir() and (path / ".git").exists() and not _git_output(path, "tag", "--list"):
        return "HEAD"
    return None


def run_copier(template: str, dest: Path, answers: dict[str, Any], answers_file: str, vcs_ref: str | None) -> int:
    import warnings

    from copier import run_copy
    from copier.errors import CopierError

    before = _snapshot(dest)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Copier's DirtyLocalWarning is noise for users of a checkout
            run_copy(template, str(dest), data=answers, defaults=True, unsafe=True,
                     answers_file=answers_file, vcs_ref=vcs_ref)
    except ValueError as error:
        # Copier's validators and choices, e.g. "Validation error for question 'x': <rule>".
        # Copier asks every question before it writes, so nothing was written yet.
        match = _COPIER_ANSWER_ERROR.match(str(error))
        message = f"{match['question']}: {match['rule']}" if match else str(error)
        _remove_new(dest, before)
        raise UsageError(message) from None
    except (CopierError, subprocess.CalledProcessError) as error:
        _remove_new(dest, before)
        if "Interactive session required" in str(error):
            print(f"lemi: {dest.resolve()} already has a file lemi writes (Copier's 'conflict' line above names it); "
                  "nothing was changed: move it aside, or pass -dest=<a new folder>", file=sys.stderr)
            return 2
        print(f"lemi: copier failed: {error}; nothing was changed", file=sys.stderr)
        return 1
    return 0


def _snapshot(dest: Path) -> set[Path] | None:
    """What ``dest`` holds before Copier runs (None: it does not exist yet)."""
    if not dest.exists():
        return None
    return {path for path in dest.rglob("*") if ".git" not in path.relative_to(dest).parts}


def _remove_new(dest: Path, before: set[Path] | None) -> None:
    """Undo a failed render: remove what it created, never what was there before."""
    import shutil

    if before is None:
        shutil.rmtree(dest, ignore_errors=True)
        return
    created = [path for path in dest.rglob("*")
               if path not in before and ".git" not in path.relative_to(dest).parts]
    for path in sorted(created, key=lambda item: len(item.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def infra_pr(args: Sequence[str]) -> int:
    from . import infra_pr as infra

    return infra.main(list(args))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if not args or args[0] in ("-h", "--help", "help"):
            print(USAGE)
            return 0 if args else 2
        if args[0] in ("new", "init"):
            if any(arg in ("-h", "--help", "-help") for arg in args[1:]):
                print(USAGE)
                return 0
            if len(args) < 2 or args[1] != "service":
                raise UsageError(f"'lemi {args[0]}' makes a service: lemi {args[0]} service -name=NAME ...")
            return new_service(args[2:])
        if args[0] == "infra-pr":
            return infra_pr(args[1:])
        if args[0] == "update":
            from . import update

            return update.main(args[1:])
        raise UsageError(f"unknown command {args[0]!r} (see 'lemi --help')")
    except UsageError as error:
        print(f"lemi: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lemi: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
