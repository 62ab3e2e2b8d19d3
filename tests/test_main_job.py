"""The README's main job (examples/train_digits.py) runs and reaches its accuracy."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_train_digits_main_job(tmp_path):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=path)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "train_digits.py")], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    accuracies = [float(a) for a in re.findall(r"test accuracy ([0-9.]+)", done.stdout)]
    assert len(accuracies) == 2 and accuracies[1] >= 0.95, done.stdout[-2000:]
    assert (tmp_path / "digits_loss.png").stat().st_size > 1000
    assert "def fit_mlp" in done.stdout
