"""tffnoise/tflog.py silences TensorFlow's Python warnings (here: a real tf.function retracing notice) in
one place, and TFFNOISE_TF_LOG_LEVEL brings them back."""
import os
import subprocess
import sys

import pytest

RETRACE = """
import os, sys
from tffnoise.tflog import quiet_tensorflow
quiet_tensorflow()
import tensorflow as tf

def retrace(f):  # TensorFlow warns once per Python function, after 5 traces: a new shape each call
    for n in range(1, 9):
        f(tf.zeros([n]))

retrace(tf.function(lambda x: x + 1))
tf.get_logger().error("ERRORS-STILL-SHOW")
sys.stderr.write("MARK\\n"); sys.stderr.flush()
os.environ["TFFNOISE_TF_LOG_LEVEL"] = "1"
quiet_tensorflow()
retrace(tf.function(lambda x: x + 2))
"""


@pytest.mark.slow
def test_tensorflow_warnings_are_silenced_once_and_can_come_back():
    env = {k: v for k, v in os.environ.items() if k != "TFFNOISE_TF_LOG_LEVEL"}
    res = subprocess.run([sys.executable, "-c", RETRACE], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    before, after = res.stderr.split("MARK\n")
    assert "retracing" not in before and "ERRORS-STILL-SHOW" in before, before[-1500:]
    assert "retracing" in after
