"""The README's first command: the demo of the seed example runs start to finish, in one screen."""

import subprocess
import sys

from conftest import TEMPLATE_ROOT


def test_demo_shows_the_whole_flow(tmp_path):
    result = subprocess.run([sys.executable, str(TEMPLATE_ROOT / "scripts" / "demo.py"), str(tmp_path / "scratch")],
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert len(out.splitlines()) <= 40, "a newcomer should see it in one screen"
    for expected in ("Generated", "lemi/klausapproves", "services/klausapproves/main.tf",
                     "family klausapproves-pre", "family klausapproves-prod",
                     "secret:klausapproves/prod/api:api_key::", "Next"):
        assert expected in out
    assert "warning" not in out, "the demo's infra repository holds every dependency"
    for env in ("pre", "prod"):
        assert (tmp_path / "scratch" / "klausapproves" / f"taskdef-{env}.json").is_file()
