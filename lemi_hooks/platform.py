"""The infra team's platform settings (``platform.yml`` beside this file)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SETTINGS_FILE = Path(__file__).with_name("platform.yml")


@functools.lru_cache(maxsize=None)
def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        settings = yaml.safe_load(handle)
    if not isinstance(settings, dict) or not isinstance(settings.get("environments"), dict):
        raise ValueError(f"{path}: platform settings must map 'environments' to their settings")
    return settings


def settings(path: Path | str | None = None) -> dict[str, Any]:
    """The platform settings. Callers must not mutate the returned mapping."""
    return _load(str(path or SETTINGS_FILE))


def allowed_environments(path: Path | str | None = None) -> list[str]:
    """The environments the infra team supports, in promotion order."""
    return list(settings(path)["environments"])
