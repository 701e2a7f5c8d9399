"""`tffnoise report` on a tiny real sweep (digits, stacked engine): settings that differ only in the weight
noise decay are two groups, each against the one clean setting, with paper 2's SNR on the validation curve."""
import sqlite3
import subprocess
import sys
import tomllib

import pytest

from tffnoise.config.sweep import clean_setting_key, setting_key

SWEEP = """
engine = "stacked"
[experiment]
name = "decay"
repeats = 2
[data]
source = "digits"
clients = 2
examples_per_client = 40
validation_fraction = 0.25
[model]
hidden = [8]
[training]
batch_size = 10
sync_period = 2
rounds = 4
[noise.weights]
level = 0.5
[privacy]
membership_inference = false
[sweep.grid]
"noise.weights.level" = [0.0, 0.5]
"noise.weights.decay" = ["none", "inverse"]
"""


@pytest.mark.slow
def test_report_of_a_decay_sweep(tmp_path):
    (tmp_path / "s.toml").write_text(SWEEP)
    out = tmp_path / "store"
    run = subprocess.run([sys.executable, "-m", "tffnoise", "run", str(tmp_path / "s.toml"), "--out", str(out),
                          "--json", "--report"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    con = sqlite3.connect(out / "index.sqlite")
    rows = con.execute("SELECT run_id, setting_id FROM runs").fetchall()
    con.close()
    assert len(rows) == 6  # the clean setting once (level 0 is decay-free), two noisy settings, 2 repeats each
    cleans = set()
    for rid, sid in rows:
        cfg = tomllib.loads((out / "runs" / rid / "config.toml").read_text())
        assert setting_key(cfg) == sid  # the report's key of the stored config is the sweep's setting_id
        cleans.add(clean_setting_key(cfg))
    assert len(cleans) == 1 and cleans <= {sid for _, sid in rows}
    text = (out / "report" / "summary.md").read_text()
    assert "| clean | 0 | 2 |" in text
    assert "| weights/uniform decay=none | 0.5 | 2 |" in text and "| weights/uniform decay=inverse | 0.5 | 2 |" in text
    assert text.count("on the validation curve (mean over 2 repeats)") == 2
