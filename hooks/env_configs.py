"""Copier task: create deploy/<env>/config.yaml for every environment that has none."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lemi_hooks import answers, env_config  # noqa: E402

if __name__ == "__main__":
    project, answers_file = Path.cwd(), sys.argv[1]
    recorded = answers.load(project, answers_file)
    env_config.write_missing(answers.service_root(project, recorded), recorded["service_name"], recorded["environments"])
