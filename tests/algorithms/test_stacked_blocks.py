"""The cache-aware round (round_program.learner_block): learners run their round block by block. It must
be the same run as the batched round: learners are independent and every draw is keyed per learner, so a
hook that mixed learners, or a block that read another block's data, keys or weights, fails here."""
import numpy as np
import pytest

from tffnoise.algorithms import round_program
from tffnoise.algorithms.problem import prepare
from tffnoise.algorithms.stacked import StackedEngine
from tffnoise.config import load_config

TINY = ["data.clients=3", "data.examples_per_client=20", "model.hidden=[8]", "training.batch_size=5",
        "training.sync_period=2", "training.rounds=3", "experiment.repeats=2", "execution.threads=1"]
# every per-step hook acts: step weight noise, gradient, hidden, input and label noise, dropout
NOISY = ["noise.weights.level=0.3", 'noise.weights.schedule="step"', "noise.gradient.level=0.2",
         "noise.hidden.level=0.2", "noise.input.level=0.2", "noise.label.level=0.3", "model.dropout=0.2"]


def _state(overrides, block, rounds=2):
    round_program.FORCE_BLOCK = block
    try:
        eng = StackedEngine(prepare(load_config(None, TINY + overrides), [0, 1]))
        hist = [eng.run_round() for _ in range(rounds)]
        return eng.get_state(), hist
    finally:
        round_program.FORCE_BLOCK = None


# K = 6: one learner a block, and one repeat's learners a block
@pytest.mark.parametrize("extra,block", [
    ([], 1),
    (['training.protocol="fedavg"', "training.clients_per_round=2", "training.server_momentum=0.5"], 3),
    pytest.param(["privacy.mode=dp-sgd", "privacy.noise_multiplier=0.7", "privacy.l2_norm_clip=0.5",
                  "privacy.microbatches=5"], 1, marks=pytest.mark.slow),
], ids=["pa", "fedavg", "dp-sgd"])
def test_blocked_round_is_the_batched_round(extra, block):
    ref, ref_hist = _state(NOISY + extra, None)
    got, hist = _state(NOISY + extra, block)
    assert sorted(got) == sorted(ref)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-5, atol=1e-6, err_msg=k)
    for a, b in zip(hist, ref_hist):
        np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5, err_msg="train_loss")


def test_block_follows_the_models_size():
    mnist = 4 * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10)  # 2.7 MB a model
    assert round_program.learner_block(50, mnist, xla=True) == 1      # one model + gradient fits 8 MiB
    mib = 2**20
    assert round_program.learner_block(48, mib, xla=True) == 4        # 4 models + gradients fit
    assert round_program.learner_block(50, mib, xla=True) == 2        # the largest divisor of K that fits
    assert round_program.learner_block(100, 4 * 2850, xla=True) == 100  # SUSY: all fit, the batched round
    assert round_program.learner_block(50, mnist, xla=False) == 50    # the graph runtime keeps it batched
