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


def service_root(project: Path, answers: dict[str, Any]) -> Path:
    """The folder holding the service's deploy/, .lemi/ and code."""
    return Path(project) / str(answers.get("service_path") or ".")
