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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lemi_deploy import InputError, render_text, write_atomically  # noqa: E402

USAGE = "usage: render_taskdef.py --env ENV --image IMAGE [--output FILE]"
OPTIONS = ("--env", "--image", "--output")


def parse_arguments(argv: list[str]) -> dict[str, str]:
    """The three options, as --name VALUE or --name=VALUE. Not argparse: its import
    alone is a tenth of the renderer's run time, which CI pays on every deploy."""
    values: dict[str, str] = {}
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        name, equals, value = word.partition("=")
        if name in ("-h", "--help"):
            sys.stdout.write(f"{USAGE}\n\n{__doc__}")
            sys.exit(0)
        if name not in OPTIONS:
            raise InputError("render_taskdef.py", None, f"unknown argument {word!r}; {USAGE}")
        if not equals:
            if not rest:
                raise InputError("render_taskdef.py", None, f"{name} needs a value; {USAGE}")
            value = rest.pop(0)
        if name in values:
            raise InputError("render_taskdef.py", None, f"{name} given twice")
        values[name] = value
    for name in OPTIONS[:2]:
        if name not in values:
            raise InputError("render_taskdef.py", None, f"{name} is required; {USAGE}")
    return values


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
        text = render_text(os.getcwd(), args["--env"], args["--image"])
        if args.get("--output"):
            write_atomically(args["--output"], text)
        else:
            sys.stdout.write(text)
    except InputError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
