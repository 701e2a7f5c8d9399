"""Short stacked runs pinned to the metrics the engine gave before the round was rewritten once (issue
19): the refactor (one client update, explicit levels, typed plan ops) must not move a result, since
checkpoints, stored runs and docs/results.md depend on them. Two runs of 3 rounds cover every draw the
round makes: weight noise (sync, inverse decay; step), hidden and input noise, dropout, label and gradient
noise, DP-SGD with 2 microbatches, fedavg with DP-FedAvg. Recorded on the code at commit 9836e9e; the
tolerance (rtol 1e-6) only absorbs a different CPU's float rounding, any change of key, order or
schedule moves these by far more. About 15 s on 2 cores (two compilations)."""
import numpy as np
import pytest

from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config

CASES = {
 "pa-dpsgd": ["data.clients=2", "data.examples_per_client=16", "model.hidden=[6]", "training.batch_size=4",
    "training.sync_period=2", "training.rounds=3", "experiment.repeats=2", "experiment.seed=3",
    'noise.weights.distribution="uniform"', "noise.weights.level=0.4", 'noise.weights.schedule="sync"', 'noise.weights.decay="inverse"',
    'noise.hidden.distribution="gaussian"', "noise.hidden.level=0.3", "model.dropout=0.25",
    'privacy.mode="dp-sgd"', "privacy.l2_norm_clip=0.5", "privacy.noise_multiplier=0.7", "privacy.microbatches=2"],
 "fedavg-dpfedavg": ["data.clients=3", "data.examples_per_client=12", "model.hidden=[5]", "training.batch_size=4",
    "training.sync_period=2", "training.rounds=3", "experiment.repeats=2", "experiment.seed=5",
    'training.protocol="fedavg"', "training.clients_per_round=2", "training.server_momentum=0.5", "training.server_learning_rate=0.8",
    'noise.gradient.distribution="gaussian"', "noise.gradient.level=0.2", "noise.label.level=0.2",
    'noise.input.distribution="laplace"', "noise.input.level=0.1",
    'noise.weights.distribution="gaussian"', "noise.weights.level=0.05", 'noise.weights.schedule="step"',
    'privacy.mode="dp-fedavg"', "privacy.l2_norm_clip=0.3", "privacy.noise_multiplier=0.6"],
}

PINNED = {
    "pa-dpsgd": {
        "train_loss": [[2.588514804840088, 2.5184438228607178], [2.7306580543518066, 2.4878926277160645], [2.592658519744873, 2.444347381591797]],
        "train_accuracy": [[0.125, 0.1875], [0.125, 0.0625], [0.125, 0.125]],
        "cumulative_train_loss": [[5.177029609680176, 5.0368876457214355], [10.638345718383789, 10.012673377990723], [15.823662757873535, 14.901369094848633]],
        "test_loss": [2.37479736328125, 2.3756717936197917],
        "params_0": [0.11667167395353317, -0.37612301111221313, -0.06514138728380203, 0.06646915525197983, 0.38054248690605164, 0.34039804339408875],
        "server_1": [0.03710848093032837, 0.014776035211980343, 0.0703381597995758, -0.0984075739979744],
        "params_sum": [-2.6479506101459265, -0.9328297842293978, -14.450858775526285, 0.1442204788327217],
    },
    "fedavg-dpfedavg": {
        "train_loss": [[2.297036647796631, 2.410712242126465], [2.430602788925171, 2.3751583099365234], [2.3566813468933105, 2.5925893783569336]],
        "train_accuracy": [[0.25, 0.0], [0.0833333358168602, 0.1666666716337204], [0.2083333432674408, 0.0]],
        "cumulative_train_loss": [[4.594073295593262, 4.82142448425293], [9.455278396606445, 9.571741104125977], [14.168642044067383, 14.756919860839844]],
        "test_loss": [2.345764363606771, 2.4344820149739586],
        "params_0": [0.394457072019577, -0.1566161960363388, 0.08608779311180115, 0.20622794330120087, -0.2828614115715027, 0.28833410143852234],
        "server_1": [-0.30856525897979736, -0.22484341263771057, -0.1177562028169632, 0.06191076338291168],
        "params_sum": [28.016108606709167, -1.6630169714335352, 7.495358815882355, 0.8332095220685005],
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_stacked_run_matches_the_pinned_metrics(case):
    eng = StackedEngine(prepare(load_config(None, CASES[case]), [0, 1]))
    rows = eng.run_rounds(3)
    ev = eng.evaluate("test")
    st = eng.get_state()
    want = PINNED[case]
    close = lambda got, k: np.testing.assert_allclose(got, want[k], rtol=1e-6, atol=1e-7, err_msg=k)  # noqa: E731
    for k in ("train_loss", "train_accuracy", "cumulative_train_loss"):
        close([r[k] for r in rows], k)
    close(ev["test_loss"], "test_loss")
    close(st["params_0"].ravel()[:6], "params_0")
    close(st["server_1"].ravel()[:4], "server_1")
    close([float(np.sum(st[f"params_{j}"].astype(np.float64))) for j in range(4)], "params_sum")
