"""The README's main job (examples/train_digits.py) and the hand-written njit training loop run and
learn what they claim."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(example, cwd):
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=path)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / example)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_train_digits_main_job(tmp_path):
    done = _run("train_digits.py", tmp_path)
    accuracies = [float(a) for a in re.findall(r"test accuracy ([0-9.]+)", done.stdout)]
    assert len(accuracies) == 2 and accuracies[1] >= 0.95, done.stdout[-2000:]
    assert (tmp_path / "digits_loss.png").stat().st_size > 1000
    assert "def fit_mlp" in done.stdout


def test_hand_written_njit_training_loop(tmp_path):
    done = _run("njit_training_loop.py", tmp_path)
    cosine = float(re.search(r"cosine ([0-9.]+)", done.stdout).group(1))
    assert cosine > 0.99, done.stdout
