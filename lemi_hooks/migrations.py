"""Spec-shape migrations: services on an older shape of deploy/service.yaml upgrade
without hand edits. copier.yml's `_migrations` runs them after `copier update` has
merged the new template into the service.

Each migration edits the text, not a parsed tree, so the owners' comments and layout
survive. Copier's merge already brings the new shape to every line the owners never
touched; what is left for a migration is the lines they did edit, which the merge
leaves as the old key or as a conflict between their line and the template's.

0.2.0: `spec.autoscaling.targetUtilization` (the 0.1 pre-release name) is now
       `spec.autoscaling.target`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

SPEC_FILE = Path("deploy") / "service.yaml"
_CONFLICT = re.compile(
    r"^<<<<<<< [^\n]*\n(?P<ours>(?:(?!=======\n).*\n)*?)=======\n(?P<theirs>(?:(?!>>>>>>> ).*\n)*?)>>>>>>> [^\n]*\n",
    re.MULTILINE,
)
_KEY = re.compile(r"^\s*([A-Za-z_][\w-]*):")


def rename_key(old: str, new: str) -> Callable[[str], str]:
    """A migration renaming a mapping key wherever it stands, keeping its value and indentation."""
    pattern = re.compile(rf"^(\s*){re.escape(old)}:", re.MULTILINE)

    def migrate(text: str) -> str:
        text = _resolve_conflicts(text, lambda block: pattern.sub(rf"\g<1>{new}:", block))
        return pattern.sub(rf"\g<1>{new}:", text)

    return migrate


def _keys(block: str) -> list[str]:
    return [match.group(1) for line in block.splitlines() if (match := _KEY.match(line))]


def _resolve_conflicts(text: str, upgrade: Callable[[str], str]) -> str:
    """Settle the conflicts the shape change alone caused: where the owners' side, on the new
    shape, has exactly the template side's keys, the owners' values win. Others stay."""

    def settle(conflict: re.Match) -> str:
        ours = upgrade(conflict.group("ours"))
        if _keys(ours) == _keys(conflict.group("theirs")):
            return ours
        return conflict.group(0)

    return _CONFLICT.sub(settle, text)


MIGRATIONS: dict[str, list[Callable[[str], str]]] = {
    "0.2.0": [rename_key("targetUtilization", "target")],
}


def migrate_spec(service_root: Path, version: str) -> bool:
    """Apply the migrations of ``version`` to the service's spec; True if it changed."""
    path = Path(service_root) / SPEC_FILE
    if not path.is_file():
        return False
    original = path.read_text(encoding="utf-8")
    text = original
    for migration in MIGRATIONS.get(version.lstrip("v"), []):
        text = migration(text)
    if text == original:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    """hooks/migrate_spec.py ANSWERS_FILE VERSION, run by Copier in the project."""
    from . import answers as answers_module

    answers_file, version = argv
    project = Path.cwd()
    root = answers_module.service_root(project, answers_module.load(project, answers_file))
    if migrate_spec(root, version):
        print(f"lemi: migrated {root / SPEC_FILE} to the {version} spec shape", file=sys.stderr)
    return 0
