"""Reading a service's recorded Copier answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_ANSWERS_FILE = ".copier-answers.yml"


def load(project: Path, answers_file: str | Path = DEFAULT_ANSWERS_FILE) -> dict[str, Any]:
    path = Path(project) / answers_file
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a Copier answers file")
    return data


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
