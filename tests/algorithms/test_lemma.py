"""Paper 1's Lemma 1 as a statistical test (fixed seeds; tolerances stated).

Ideal ratios: the gap of a K-average to the clean run scales like 1/√K, so gap(16)/gap(512) ≈ 5.7 for
the linear model. For the sigmoid MLP the average converges to a biased point, so the gap stops
shrinking: gap(64)/gap(512) stays well under the ideal 2.8.
"""
import pytest

from tffnoise.algorithms.lemma import gap_by_k
from tffnoise.config import load_config
from tffnoise.data import load_dataset

BASE = ["data.source=susy", "data.synthetic=true", "data.clients=2", "data.examples_per_client=100",
        "training.batch_size=10", "training.sync_period=5", "training.rounds=6", "data.standardize=true",
        "noise.weights.schedule=sync", "noise.weights.decay=inverse"]


@pytest.fixture(scope="module")
def data():
    return load_dataset("susy", synthetic=True, train_limit=400, test_limit=100, seed=0)


@pytest.mark.slow
def test_linear_model_noise_cancels_in_expectation(data):
    cfg = load_config(None, BASE + ["model.architecture=linear", "model.output=linear", "data.targets=pm1",
                                    "training.learning_rate=0.01", "noise.weights.level=1.0"])
    gap = gap_by_k(cfg, (16, 64, 512), dataset=data)
    assert gap[16] / gap[64] > 1.5          # ideal 2
    assert gap[16] / gap[512] > 3.5         # ideal 5.66


@pytest.mark.slow
def test_lemma_fails_for_sigmoid_mlp(data):
    cfg = load_config(None, BASE + ["model.hidden=[8]", "model.activation=sigmoid", "training.learning_rate=0.5",
                                    "noise.weights.level=2.0"])
    gap = gap_by_k(cfg, (16, 64, 512), dataset=data)
    assert gap[64] / gap[512] < 2.0         # 1/√K would give 2.83: a bias remains
