"""The benchmark's work model (FLOPs and bytes per example, fraction of limit) and its memory
prediction's skip, checked on numbers worked out by hand. Pure Python: no TensorFlow, milliseconds."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import memory  # noqa: E402
import workmodel  # noqa: E402

SUSY, MNIST = [18, 32, 64, 2], [784, 512, 512, 10]
LIM = {"gflops": 100.0, "gbs": 10.0, "llc_bytes": 32 * 2**20}


def test_parameter_counts_of_the_paper_mlps():
    assert workmodel.mlp_params(SUSY) == 18 * 32 + 32 + 32 * 64 + 64 + 64 * 2 + 2 == 2850
    assert workmodel.mlp_params(MNIST) == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10 == 669_706


def test_cache_resident_rows_are_flop_bound_and_count_only_their_data():
    """SUSY, 100 stacked models: 2·100·4·2850 B = 2.3 MB fits in 32 MiB, so no weight traffic."""
    ex = workmodel.per_example(workmodel.work(SUSY, 10, 100), LIM["llc_bytes"])
    assert ex["flops"] == 6 * 2850 and ex["bytes"] == 4 * 19 and not ex["weights_from_memory"]
    row = {"work": workmodel.work(SUSY, 10, 100, eval_models=10, test=1000), "steady_ex_per_s": 1e6,
           "examples": 2e5, "e2e_s": 0.5}
    f = workmodel.fractions(row, LIM)
    assert f["bound"] == "FLOP"
    assert f["fraction_steady"] == pytest.approx(1e6 * 6 * 2850 / 100e9)                 # 0.177
    assert f["fraction_e2e"] == pytest.approx((2e5 * 6 * 2850 + 1000 * 10 * 2 * 2850) / 100e9 / 0.5)


def test_wide_rows_read_their_weights_from_memory_three_times_per_step():
    """MNIST MLP, 10 learners: 2·10·4·669706 B = 54 MB > 32 MiB: 3·4·P / B bytes of weights per example,
    5.0 FLOP per byte, below this machine's balance of 10: memory bound."""
    ex = workmodel.per_example(workmodel.work(MNIST, 10, 10), LIM["llc_bytes"])
    assert ex["weights_from_memory"]
    assert ex["bytes"] == pytest.approx(4 * 785 + 3 * 4 * 669_706 / 10)
    f = workmodel.fractions({"work": workmodel.work(MNIST, 10, 10), "steady_ex_per_s": 7000.0}, LIM)
    assert f["bound"] == "memory"
    assert f["fraction_steady"] == pytest.approx(7000 * ex["bytes"] / 10e9)                # 0.565
    # Keras B = 100, one model (2.7 MB, in cache): FLOP bound
    assert workmodel.fractions({"work": workmodel.work(MNIST, 100, 1), "steady_ex_per_s": 1.0}, LIM)["bound"] == "FLOP"


def test_rows_without_a_model_or_limits_get_no_fraction():
    assert workmodel.fractions({"steady_ex_per_s": 1.0}, LIM) == {}
    assert workmodel.fractions({"work": workmodel.work(SUSY, 10, 1)}, {}) == {}


def test_memory_prediction_by_hand():
    """SUSY 2048-2048, 10 learners, 1 repeat, 1000 examples each, 10000 test examples."""
    dims = [18, 2048, 2048, 2]
    P = workmodel.mlp_params(dims)
    want = (150 * 2**20 + 4 * P * (10 * 5 + 1 * 4) + 4 * 19 * (10 * 1000 + 10000) * 3 + 4 * 2 * 8192 * 1 * 2048)
    assert memory.predict_cell_bytes(dims, 10, 1, 1000, 10000) == want
    assert 1.0 < want / 2**30 < 1.2  # about 1.1 GiB: runs
    assert memory.predict_cell_bytes(dims, 500, 50, 1000, 10000) / 2**30 > 12  # would not fit: skipped


def test_a_cell_that_would_not_fit_is_skipped_without_running():
    ran = []
    row = memory.guarded({"group": "g", "system": "s"}, 13 * 2**30, lambda: ran.append(1) or {"e2e_s": 1.0})
    assert not ran and row["skipped"] == "needs 13.0 GiB (> 12 GiB)" and row["predicted_mb"] == 13 * 1024
    row = memory.guarded({"group": "g", "system": "s"}, 2**30, lambda: {"e2e_s": 1.0, "system": "other"})
    assert row == {"group": "g", "system": "s", "e2e_s": 1.0, "predicted_mb": 1024.0}


def test_learner_blocks_read_and_write_their_weights_once_a_round():
    """The MNIST-MLP cell in blocks of one learner (2·4·P = 5.4 MB fits): 2·4·P / (b·B) bytes of weights per
    example, b = 10 steps of B = 10: 53.6 kB, 75 FLOP per byte: FLOP bound on a machine of balance 10."""
    ex = workmodel.per_example(workmodel.work(MNIST, 10, 1, block_steps=10), LIM["llc_bytes"])
    assert not ex["weights_from_memory"]
    assert ex["bytes"] == pytest.approx(4 * 785 + 2 * 4 * 669_706 / 100)
    assert workmodel.fractions({"work": workmodel.work(MNIST, 10, 1, block_steps=10), "steady_ex_per_s": 1e4},
                               LIM)["bound"] == "FLOP"


def _tiny_conv_net():
    import tensorflow as tf

    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)),
        tf.keras.layers.BatchNormalization(),                                       # 192 in, 192 out
        tf.keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),  # 4×4×4 out
        tf.keras.layers.MaxPooling2D(2),                                            # 64 in, 16 out
        tf.keras.layers.Conv2D(5, 2, padding="valid"),                              # 1×1×5 out, linear
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(2, activation="softmax")])


def test_conv_work_model_by_hand():
    """A tiny conv net counted by hand: stride 2 halves H and W, C_in enters every conv's MACs, batch norm
    and pooling are bytes only, Flatten is free."""
    ex_model = workmodel.cnn_work(_tiny_conv_net(), batch=4, resident=1, test=10)
    conv1 = 4 * 4 * 4 * (3 * 3 * 3)          # H_out·W_out·C_out·k_h·k_w·C_in = 1728
    conv2 = 1 * 1 * 5 * (2 * 2 * 4)          # valid 2×2 on 2×2×4 = 80
    dense = 5 * 2
    assert ex_model["macs"] == conv1 + conv2 + dense == 1818
    # trainable: BN gamma, beta (3+3); conv1 3·3·3·4 + 4; conv2 2·2·4·5 + 5; dense 5·2 + 2
    assert ex_model["params"] == 6 + 112 + 85 + 12
    # BN 192+192, conv1's ReLU 2·64, pool 64+16, the softmax 2·2
    assert ex_model["act_elements"] == 384 + 128 + 80 + 4
    ex = workmodel.per_example(ex_model, LIM["llc_bytes"])
    assert ex["flops"] == 3 * 2 * 1818 and ex["eval_flops"] == 2 * 1818
    assert ex["bytes"] == 4 * (192 + 1) + 3 * 4 * 596 and not ex["weights_from_memory"]
    f = workmodel.fractions({"work": ex_model, "steady_ex_per_s": 1000.0, "examples": 500, "e2e_s": 2.0}, LIM)
    assert f["fraction_steady"] == pytest.approx(1000 * ex["bytes"] / 10e9)  # 0.0007: memory bound
    assert f["bound"] == "memory"
    assert f["fraction_e2e"] == pytest.approx(500 * ex["bytes"] / 10e9 / 2.0)


def test_cnn_small_work_follows_the_architecture():
    """cnn-small from tffnoise's builder: doubling the width about quadruples the conv MACs (C_in·C_out)."""
    from tffnoise.config.schema import Model
    from tffnoise.models.builders import build_model

    def macs(w):
        return workmodel.layer_counts(build_model(Model(architecture="cnn-small", width=w), (28, 28, 1), 10))["macs"]
    # first conv: 28·28·8·9·1; second: 14·14·16·9·8; third: 7·7·32·9·16; fc 288·64; output 64·10
    assert macs(0.125) == 28 * 28 * 8 * 9 + 14 * 14 * 16 * 72 + 7 * 7 * 32 * 144 + 3 * 3 * 32 * 64 + 64 * 10
    assert 3.5 < macs(0.25) / macs(0.125) < 4.0
