"""An update harness: this template at several released versions, in a temporary git repository."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any, Callable

from conftest import TEMPLATE_ROOT, git


class TemplateRepo:
    """A clone of this repository's working tree whose history we write: edit, release, repeat."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def from_working_tree(cls, path: Path) -> "TemplateRepo":
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=True).stdout
        for name in filter(None, listed.split("\0")):
            source = TEMPLATE_ROOT / name
            if not source.is_file() or name.startswith(("tests/", "bench/", "scratch/")):
                continue
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        git(path, "init", "-q")
        return cls(path)

    def edit(self, relative: str, change: Callable[[str], str]) -> None:
        target = self.path / relative
        before = target.read_text()
        after = change(before)
        assert after != before, f"the edit of {relative} changed nothing"
        target.write_text(after)

    def release(self, tag: str) -> None:
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", f"release {tag}")
        git(self.path, "tag", tag)


def copy_project(template: TemplateRepo, dst: Path, answers: dict[str, Any], vcs_ref: str,
                 answers_file: str = ".copier-answers.yml") -> Path:
    from copier import run_copy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_copy(str(template.path), str(dst), data=answers, defaults=True, unsafe=True, quiet=True,
                 vcs_ref=vcs_ref, answers_file=answers_file)
    return dst


def commit_all(project: Path, message: str) -> None:
    if not (project / ".git").exists():
        git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "--allow-empty", "-m", message)


def tree_differences(left: Path, right: Path) -> list[str]:
    """Files whose content differs, or that exist on one side only (ignoring .git)."""
    differences: list[str] = []

    def walk(comparison: filecmp.dircmp, prefix: str) -> None:
        for name in comparison.left_only + comparison.right_only:
            if name != ".git":
                differences.append(f"{prefix}{name} (only one side)")
        _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files,
                                               shallow=False)
        differences.extend(f"{prefix}{name}" for name in mismatch + errors)
        for name, sub in comparison.subdirs.items():
            if name != ".git":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return sorted(differences)
