"""Copier task: derived files and the infra pull request, in the project (lemi_hooks.after_render)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lemi_hooks import after_render  # noqa: E402

if __name__ == "__main__":
    sys.exit(after_render.main(sys.argv[1:]))
