"""Reading a service's recorded Copier answers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

DEFAULT_ANSWERS_FILE = ".copier-answers.yml"
# Folders that never hold a service's OWNERS or answers file: not worth walking.
_NOT_SERVICE_FOLDERS = {".git", ".gradle", "build", "node_modules", ".lemi", "src", ".venv"}


def load(project: Path, answers_file: str | Path = DEFAULT_ANSWERS_FILE) -> dict[str, Any]:
    path = Path(project) / answers_file
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a Copier answers file")
    return data


def service_name_in(folder: Path) -> str | None:
    """The service whose answers file is in ``folder``, if any (an unreadable file: none)."""
    path = Path(folder) / DEFAULT_ANSWERS_FILE
    try:
        name = load(path.parent).get("service_name") if path.is_file() else None
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return name if isinstance(name, str) else None


def find_in_repository(repo: Path, file_name: str) -> list[Path]:
    """Every file named ``file_name`` in the repository's service folders, the root's first."""
    found = []
    for current, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in _NOT_SERVICE_FOLDERS)
        if file_name in files:
            found.append(Path(current) / file_name)
    return sorted(found, key=lambda path: (len(path.relative_to(repo).parts), str(path)))


def record(project: Path, answers_file: str | Path, question: str, value: Any) -> None:
    """Set one recorded answer in place, keeping the rest of the file as Copier wrote it,
    so the next `copier update` starts from it."""
    path = Path(project) / answers_file
    line = yaml.safe_dump({question: value}, default_flow_style=True, width=10_000).strip()[1:-1]
    lines = path.read_text(encoding="utf-8").splitlines()
    for index, existing in enumerate(lines):
        if existing.startswith(f"{question}:"):
            lines[index] = line
            break
    else:
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def service_root(project: Path, answers: dict[str, Any]) -> Path:
    """The folder holding the service's deploy/, .lemi/ and code."""
    return Path(project) / str(answers.get("service_path") or ".")
