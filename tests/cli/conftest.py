import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK = str(ROOT / "recipes" / "quickstart.toml")

#: test accuracy and loss of each (setting, repeat) in the fake store: clean, then weights noise 0.5
ACC = {(0, 0): 0.8, (0, 1): 0.9, (1, 0): 0.6, (1, 1): 0.7}
LOSS = {(0, 0): 0.5, (0, 1): 0.4, (1, 0): 1.0, (1, 1): 1.2}


def cli(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "tffnoise", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def fake_store(tmp_path):
    """The quickstart smoke sweep's store as a finished sweep leaves it (2 settings × 2 repeats), written
    through the runner's own registration, with chosen final metrics: no TensorFlow, no training."""
    from tffnoise.config import load_dict
    from tffnoise.runner.store import Store
    from tffnoise.runner.sweep import plan, register

    out = tmp_path / "store"
    specs, cells = plan(load_dict(QUICK, [("out", str(out))], "smoke"))
    store = Store(out)
    for ci, cell in enumerate(cells):
        for s in cell:
            register(store, s, {})
            acc, loss = ACC[ci, s.repeat], LOSS[ci, s.repeat]
            for t in range(1, 5):
                store.append_metrics(s.run_id, {"round": t, "train_loss": 1.0 / t})
            final = {"test_accuracy": acc, "test_loss": loss, "train_loss": 0.25}
            store.write_summary(s.run_id, {"run_id": s.run_id, "status": "done", "final": final, "rounds": 4})
            store.update(s.run_id, status="done", round=4, rounds=4, test_accuracy=acc, test_loss=loss, wall_s=1.5)
    store.close()
    return out, cells
