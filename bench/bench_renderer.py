"""The vendored renderer's wall time against Python's own floor, in the same run.

- render: `python3 .lemi/render_taskdef.py --env pre --image ... --output FILE` in the
          seed example, with the variables and secrets an owner adds, vs
          `python3 -c "import yaml"` (interpreter start-up plus PyYAML, which every
          run of the renderer pays). CI runs the renderer from a fresh checkout, so
          neither side may use a bytecode cache of the renderer: both run with
          PYTHONDONTWRITEBYTECODE=1 and no .lemi/__pycache__.

Runs interleave, so noise hits both sides alike; the figure is the median.

    python bench/bench_renderer.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "tests" / "data" / "klausapproves.yml"
IMAGE = "444444444444.dkr.ecr.us-east-1.amazonaws.com/klausapproves:1a2b3c4"
GOAL = 1.3
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def seed_service(work: Path) -> Path:
    """The seed example rendered from this working tree, with a realistic environment."""
    from copier import run_copy

    service = work / "klausapproves"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_copy(str(ROOT), str(service), data=yaml.safe_load(ANSWERS.read_text()), defaults=True, unsafe=True,
                 quiet=True, vcs_ref="HEAD")
    spec_path = service / "deploy" / "service.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["spec"]["environment"] = (
        [{"key": f"FEATURE_{i}", "value": f'{{{{ .Variables["feature{i}"] }}}}'} for i in range(8)]
        + [{"key": f"SECRET_{i}", "value": f'{{{{ .Variables["secret{i}"] }}}}'} for i in range(4)]
        + [{"key": "DATABASE_URL", "value": 'jdbc:postgresql://{{ .Variables["dbHost"] }}:5432/klausapproves'}]
    )
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    (service / "deploy" / "pre" / "config.yaml").write_text(yaml.safe_dump({
        "variables": [{"key": f"feature{i}", "value": f"https://bpg.pre.internal.lemon.me/v{i}/payments"}
                      for i in range(8)] + [{"key": "dbHost", "value": "klausapproves-rds.pre.internal.lemon.me"}],
        "secrets": [{"key": f"secret{i}", "value": f"klausapproves/pre/api{i}.token"} for i in range(4)],
    }, sort_keys=False))
    return service


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def run(repeats: int = 5) -> list[dict]:
    # Start-up times are a few tens of milliseconds: many samples per reported repeat.
    samples = max(5, repeats) * 4
    with tempfile.TemporaryDirectory(prefix="lemi-bench-renderer-") as tmp:
        service = seed_service(Path(tmp))
        output = Path(tmp) / "taskdef.json"
        render = [sys.executable, ".lemi/render_taskdef.py", "--env", "pre", "--image", IMAGE, "--output", str(output)]
        floor = [sys.executable, "-c", "import yaml"]
        timed(render, service)  # fails loudly if the renderer does
        renders, floors = [], []
        for _ in range(samples):
            shutil.rmtree(service / ".lemi" / "__pycache__", ignore_errors=True)
            floors.append(timed(floor, service))
            renders.append(timed(render, service))
    value, base = statistics.median(renders), statistics.median(floors)
    return [{"name": "render_taskdef.py (seed, 13 variables) vs python -c 'import yaml'",
             "value": value, "floor": base, "ratio": value / base, "goal": GOAL}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = run(args.repeats)
    for row in rows:
        met = "met" if row["ratio"] <= row["goal"] else "NOT met"
        print(f"{row['name']}: {row['value'] * 1000:.1f} ms / {row['floor'] * 1000:.1f} ms = "
              f"{row['ratio']:.2f}x (goal <= {row['goal']}x, {met})")
    return 0 if all(row["ratio"] <= row["goal"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
