"""Copier migration: upgrade deploy/service.yaml to a new spec shape (lemi_hooks.migrations)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lemi_hooks import migrations  # noqa: E402

if __name__ == "__main__":
    sys.exit(migrations.main(sys.argv[1:]))
