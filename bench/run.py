"""Runs every lemi benchmark and prints one table: each figure a median of several runs,
and its ratio to a floor measured in the same run, so results hold on a noisy machine.

    .venv/bin/python bench/run.py [--repeats N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BENCHMARKS = ["bench_copier", "bench_renderer", "bench_infra", "bench_service"]


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, {platform.system()}"


def format_value(row: dict) -> str:
    unit = row.get("unit", "s")
    if unit == "s":
        return f"{row['value'] * 1000:.0f} ms / {row['floor'] * 1000:.0f} ms"
    return f"{row['value']:.1f} {unit} / {row['floor']:.1f} {unit}"


def table(rows: list[dict]) -> str:
    lines = ["| benchmark | lemi / floor | ratio | goal | met |", "|---|---|---|---|---|"]
    for row in rows:
        met = "yes" if row["ratio"] <= row["goal"] else "NO"
        lines.append(f"| {row['name']} | {format_value(row)} | {row['ratio']:.2f}x | <= {row['goal']}x | {met} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", type=Path, help="also write the table, dated, to this file")
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    args = parser.parse_args()
    rows: list[dict] = []
    started = time.perf_counter()
    for name in args.only or BENCHMARKS:
        module = importlib.import_module(name)
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(args.repeats))
    heading = (f"Measured {datetime.date.today().isoformat()} on {machine()}, median of {args.repeats} runs, "
               f"{time.perf_counter() - started:.0f} s in all.")
    output = f"{heading}\n\n{table(rows)}\n"
    print(output)
    if args.markdown:
        args.markdown.write_text(output)
    return 0 if all(row["ratio"] <= row["goal"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
