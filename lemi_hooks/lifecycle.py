"""Which of Copier's renders a task runs in.

`copier update` renders three times: the old template version into a scratch folder,
the new version into the real destination, and the new version again into a second
scratch folder, running `_tasks` in each. It then diffs the scratch renders against the
project to carry the owners' edits over. Tasks that write files the template does not
render (CODEOWNERS, deploy/<env>/config.yaml) or that reach outside (the infra pull
request) must run in the real destination only: in a scratch render they would make
the owners' own files look like template output and turn every edit into a conflict.
"""

from __future__ import annotations

from pathlib import Path

# Copier names its scratch folders after its module: copier._main.old_copy.XXXX, ...new_copy.XXXX
_SCRATCH_PREFIXES = ("copier._main.old_copy.", "copier._main.new_copy.")


def is_scratch_render(destination: Path | str) -> bool:
    """True in Copier's scratch renders of an update; False in the project itself."""
    path = Path(destination).absolute()
    return any(part.startswith(_SCRATCH_PREFIXES) for part in path.parts)
