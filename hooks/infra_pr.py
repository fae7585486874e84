"""Copier task: propose the service's Terraform on the infra repository (copy only).

Never fails generation: whatever goes wrong, lemi_hooks.infra_pr prints what
failed and the `lemi infra-pr` command that retries just this step.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    try:
        from lemi_hooks import infra_pr

        infra_pr.main(["--answers-file", sys.argv[1]])
    except Exception as error:  # noqa: BLE001 - the service is generated; this step must not undo that
        try:
            reason = infra_pr.redact(f"{type(error).__name__}: {error}")
        except Exception:  # noqa: BLE001 - lemi_hooks itself did not import
            reason = type(error).__name__
        print(f"lemi: the infra pull request step failed unexpectedly ({reason}).\n"
              "  The service itself is generated; nothing is lost.\n"
              "  To retry just this step, run in the service's folder:\n    lemi infra-pr", file=sys.stderr)
    sys.exit(0)
