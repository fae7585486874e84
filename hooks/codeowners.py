"""Copier task: derive .github/CODEOWNERS from every OWNERS file in the repository."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lemi_hooks import owners  # noqa: E402

if __name__ == "__main__":
    owners.write_codeowners(Path.cwd())
