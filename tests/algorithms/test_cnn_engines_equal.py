"""The stacked engine equals the TFF engine on small CNNs with noise on (issue 20 item 2): cnn-small
(3/6/12 filters, batch norm, max pooling, dropout) on digits as 8×8×1 images, 2 repeats × 3 learners,
round by round for 2 rounds: training metrics, test and validation metrics, every weight (batch-norm
statistics included) of every learner and of the server, and the predictions.

Tolerance: atol = rtol = 1e-4 (float32; the stacked convolutions and batch statistics sum in another
order than Keras's kernels, and differences grow over 4 local steps with noise). Both engines share the
client update, so this checks the stacked plan, forward pass, batching and aggregation against the
Keras model inside TFF; test_cnn_layers_vs_keras.py is the independent layer check."""
from __future__ import annotations

import numpy as np
import pytest

from tests.algorithms.cnn_problems import NOISY, problem

TOL = dict(atol=1e-4, rtol=1e-4)
CASES = {
    "pa-noisy": ['training.protocol="periodic-averaging"', "data.validation_fraction=0.25"] + NOISY,
    "fedavg-sampled-noisy": ['training.protocol="fedavg"', "training.clients_per_round=2",
                             "training.server_momentum=0.5", 'noise.weights.schedule="step"'] + NOISY,
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_cnn_stacked_equals_tff(case):
    from tffnoise.algorithms.stacked import StackedEngine
    from tffnoise.algorithms.tff_engine import TffEngine

    p = problem(CASES[case])
    s, e = StackedEngine(p), TffEngine(p)
    for t in (1, 2):
        a = {**s.run_round(), **s.evaluate("test"), **s.evaluate("val")}
        b = {**e.run_round(), **e.evaluate("test"), **e.evaluate("val")}
        assert sorted(a) == sorted(b)
        for k in a:
            if k == "finite":
                assert a[k].tolist() == b[k].tolist() == [True, True]
            else:
                np.testing.assert_allclose(a[k], b[k], err_msg=f"{k} round {t}", **TOL)
    sa, sb = s.get_state(), e.get_state()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], err_msg=k, **TOL)
    names = [v.name for v in p.model_fn(0).weights]
    mm = next(j for j, n in enumerate(names) if "moving_mean" in n)
    assert not np.allclose(sa[f"server_{mm}"], 0.0)  # the statistics moved and were compared
    np.testing.assert_allclose(s.predict_proba(p.x_test[:6]), e.predict_proba(p.x_test[:6]), **TOL)
