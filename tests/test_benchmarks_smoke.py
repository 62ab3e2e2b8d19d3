"""The benchmark suite's --quick run works (a smoke test: timings are never asserted)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_run(tmp_path):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=path)
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                           "--out", str(tmp_path), "--only", "elementwise,linear,scalar_loop"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "srcgrad ÷ hand" in (tmp_path / "RESULTS.md").read_text()
    rows = json.loads((tmp_path / "results.json").read_text())["rows"]
    assert {row["workload"].split()[0] for row in rows} == {"1", "3", "6"}
    for row in rows:        # srcgrad ran and agreed with the hand-written gradient in every row
        assert row["systems"]["srcgrad"]["status"] == "ok", row
