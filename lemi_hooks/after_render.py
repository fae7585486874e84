"""What runs in the project after every `copier copy` and `copier update` (one Copier task,
so one Python start-up): the files lemi derives but the template does not render, and
the infra pull request.

Copier never runs it in the scratch renders of an update (copier.yml gates it with
lemi_hooks.lifecycle), so it runs exactly once per copy or update, in the real project.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import answers, env_config, owners


def propose_infra(answers_file: str) -> None:
    """The infra pull request; never fails generation (the service is already written)."""
    try:
        from . import infra_pr

        infra_pr.main(["--answers-file", answers_file])
    except Exception as error:  # noqa: BLE001 - a bug here must not undo the generated service
        try:
            from .infra_pr import redact

            reason = redact(f"{type(error).__name__}: {error}")
        except Exception:  # noqa: BLE001 - infra_pr itself did not import
            reason = type(error).__name__
        print(f"lemi: the infra pull request step failed unexpectedly ({reason}).\n"
              "  The service itself is generated; nothing is lost.\n"
              "  To retry just this step, run in the service's folder:\n    lemi infra-pr", file=sys.stderr)


def main(argv: list[str]) -> int:
    """hooks/after_render.py ANSWERS_FILE [copy|update], run by Copier in the destination folder."""
    answers_file, operation = argv[0], (argv[1] if len(argv) > 1 else "copy")
    project = Path.cwd()
    recorded = answers.load(project, answers_file)
    owners.write_codeowners(project)
    env_config.write_missing(answers.service_root(project, recorded), recorded["service_name"],
                             recorded["environments"])
    if recorded.get("infra_repo"):
        propose_infra(answers_file)
    elif operation == "update":
        # An update of a service with no infra repository on record: say what would refresh it.
        print("lemi: no infra_repo is recorded, so no infra pull request was refreshed; "
              "`lemi infra-pr --infra-repo <owner/name>` in the service's folder opens it and records it",
              file=sys.stderr)
    return 0
