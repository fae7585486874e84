"""Render the ECS task definition of this service for one environment.

    python3 .lemi/render_taskdef.py --env ENV --image IMAGE [--output FILE]

Run from the service's folder (where deploy/ is). Prints, or writes to FILE,
the JSON input of ECS RegisterTaskDefinition built from deploy/service.yaml,
deploy/ENV/config.yaml and .lemi/conventions.json. Bad input: one line on
stderr naming the file, the key and the problem; exit code 2; nothing written.

Managed by lemi (`copier update` replaces this file; do not edit it by hand).
Standard library and PyYAML only.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lemi_deploy import InputError, render, to_json, write_atomically  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, like every other input error
        self.exit(2, f"{self.prog}: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="render_taskdef.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True, help="environment, e.g. pre or prod")
    parser.add_argument("--image", required=True, help="the image to run: <registry>/<repository>:<tag>")
    parser.add_argument("--output", help="write the JSON here instead of printing it")
    args = parser.parse_args(argv)
    try:
        text = to_json(render(os.getcwd(), args.env, args.image))
        if args.output:
            write_atomically(args.output, text)
        else:
            sys.stdout.write(text)
    except InputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
