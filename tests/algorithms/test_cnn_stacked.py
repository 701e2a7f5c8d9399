"""Paper 2's CNNs on the stacked engine (issue 20): every protocol with every mechanism on at once,
DP-FedAvg, FedBN (model.batch_norm = "local"), and batch-norm statistics left alone by weight noise.

Tiny problems (tests/algorithms/cnn_problems.py: digits as 8×8×1 images, cnn-small with 3/6/12
filters, 2 repeats, 2 rounds of 2 steps); each case compiles one round program (a few seconds)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.algorithms.cnn_problems import NOISY, problem

# periodic averaging and fedavg with client sampling, every mechanism on, run in test_cnn_engines_equal.py
PROTOCOLS = {
    "serial": ['training.protocol="serial"'],
    "no-sync": ['training.protocol="no-sync"', "data.validation_fraction=0.25"],
    "dp-fedavg": ['training.protocol="fedavg"', 'privacy.mode="dp-fedavg"', "privacy.noise_multiplier=0.5",
                  "privacy.l2_norm_clip=1.0"],
}


def _bn_slots(p):
    names = [v.name for v in p.model_fn(0).weights]
    return {kind: [j for j, n in enumerate(names) if f"/{kind}" in n]
            for kind in ("gamma", "beta", "moving_mean", "moving_variance")}, names


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PROTOCOLS))
def test_cnn_runs_every_protocol_with_every_mechanism(case):
    from tffnoise.algorithms.stacked import StackedEngine

    p = problem(NOISY + PROTOCOLS[case])
    e = StackedEngine(p)
    hist = e.run_rounds(2)
    assert e.round == 2 and all(m["finite"].all() for m in hist)
    ev = e.evaluate("test")
    assert np.isfinite(ev["test_loss"]).all() and ((0 <= ev["test_accuracy"]) & (ev["test_accuracy"] <= 1)).all()
    slots, _ = _bn_slots(p)
    st = e.get_state()
    for j in slots["moving_variance"]:
        assert (st[f"params_{j}"] >= 0).all() and not np.allclose(st[f"params_{j}"], 1.0)  # moved by the batches
    probs = e.predict_proba(p.x_test[:5])
    assert probs.shape == (2, 5, 10) and np.allclose(probs.sum(-1), 1, atol=1e-5)
    assert [w.shape for w in e.final_weights(1)] == [w.shape for w in p.model_fn(0).get_weights()]


@pytest.mark.slow
def test_fedbn_keeps_batch_norm_local_and_the_server_holds_its_mean():
    """After a round of periodic averaging with batch_norm = "local": every non-BN weight is the same for
    a repeat's learners (averaged), every BN weight and statistic is each learner's own, and the server
    model (the evaluated one) holds the learners' mean of them (docs/metrics.md)."""
    from tffnoise.algorithms.stacked import StackedEngine

    p = problem(['training.protocol="periodic-averaging"', 'model.batch_norm="local"', "noise.hidden.level=0.2"])
    e = StackedEngine(p)
    e.run_rounds(1)
    slots, names = _bn_slots(p)
    bn = {j for js in slots.values() for j in js}
    assert len(bn) == 4 * 3
    M = p.learners
    for j in range(len(names)):
        w = e.params[j].numpy().reshape((2, M) + e.params[j].shape[1:])
        server = e.server[j].numpy()
        if j in bn:
            assert not np.allclose(w[:, 0], w[:, 1]), names[j]
            np.testing.assert_allclose(server, w.mean(1), rtol=1e-5, atol=1e-6, err_msg=names[j])
        else:
            np.testing.assert_allclose(w[:, 0], w[:, 1], err_msg=names[j])
            np.testing.assert_allclose(w[:, 0], server, err_msg=names[j])


def test_fedbn_config_errors():
    from tffnoise.config import load_config
    from tffnoise.errors import ConfigError

    base = ['model.architecture="cnn-small"', 'model.batch_norm="local"']
    for extra, why in [(['training.protocol="serial"'], "nothing is averaged"), (['training.protocol="fedavg"', "engine=tff"], "engine 'tff'"),
                       (['model.architecture="mlp"'], "CNN"),
                       (['training.protocol="fedavg"', 'privacy.mode="dp-fedavg"'], "dp-fedavg")]:
        with pytest.raises(ConfigError, match="model.batch_norm") as err:
            load_config(None, base + extra)
        assert why in str(err.value)
    load_config(None, base + ['training.protocol="fedavg"'])


def test_weight_noise_leaves_batch_norm_statistics_alone():
    """One round of the shared client update (eager, K = 2 stacked learners of the tiny CNN): the first
    batch norm reads the input (no input noise here), so its moving statistics after the round do not
    depend on the weights; with weight noise before every step they equal the clean round's. Noise on
    them (the deliberate error: every weight marked trainable) breaks this."""
    import tensorflow as tf

    from tffnoise.algorithms.client_update import LocalWork, local_round
    from tffnoise.algorithms.model_adapters import StackedLearners
    from tffnoise.algorithms.plan import stack_plan
    from tffnoise.config.schema import NoiseSpec
    from tffnoise.noise.registry import build as build_mechanisms

    p = problem(['training.protocol="serial"'])
    plan = stack_plan(p.model_fn(0))
    slots, names = _bn_slots(p)
    first = [j for j in slots["moving_mean"] + slots["moving_variance"] if names[j].startswith("bn_0/")]
    assert len(first) == 2
    params = [tf.constant(w) for w in p.init_weights]
    x, y = tf.constant(p.x_clients[:, 0, :8]), tf.constant(p.y_clients[:, 0, :8])
    keys = tf.constant(p.learner_keys[:, 0])

    def stats(level, trainable=None):
        mechs = build_mechanisms({"weights": NoiseSpec(level=level, schedule="step", distribution="gaussian")})
        model = StackedLearners(plan, p.loss_kind, len(params))
        if trainable is not None:
            model.trainable = trainable
        out = local_round(LocalWork(2, 10, False), model, mechs, params, keys, 1,
                          lambda s, g: (x[:, 4 * s:4 * s + 4], y[:, 4 * s:4 * s + 4]), 0.05,
                          {"weights": tf.constant(level)})[0]
        return [out[j].numpy() for j in first]

    clean = stats(0.0)
    assert not np.allclose(clean[1], 1.0)  # the statistics moved
    for a, b in zip(clean, stats(0.5)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    broken = stats(0.5, [True] * len(params))
    assert not all(np.allclose(a, b, rtol=1e-6, atol=1e-7) for a, b in zip(clean, broken))


def test_cifar_recipe_runs_on_the_stacked_engine_and_its_cpu_preset_is_the_papers_design():
    from tffnoise.config.load import load_dict
    from tffnoise.config.sweep import expand
    from tffnoise.recipes.base import recipe_files

    path = recipe_files(["cifar.toml"])[0]
    for preset in ("paper", "smoke", "cpu"):
        assert all(r.config.engine == "stacked" for r in expand(load_dict(path, [], preset)))
    runs = expand(load_dict(path, [], "cpu"))
    # 5 mechanisms × 5 levels > 0 × 2 protocols, plus the clean cells (level 0 of every mechanism is one setting)
    assert len({r.setting_id for r in runs}) >= 5 * 5 * 2 + 2 and len(runs) % 3 == 0
    c = runs[0].config
    assert c.data.source == "fashion-mnist" and c.model.architecture == "cnn-small" and c.model.width == 0.125
    assert {r.config.training.protocol for r in runs} == {"serial", "fedavg"}
    assert expand(load_dict(path, [("engine", "tff")], "cpu"))[0].config.engine == "tff"


def test_batch_norm_field_keeps_older_setting_ids():
    """model.batch_norm came after stores existed: at its default ("shared") a setting's id is the one a
    config without the field had (resume and rerun find their runs); "local" is another setting."""
    import copy

    from tffnoise.config import load_config
    from tffnoise.config.sweep import setting_key

    d = load_config(None, ['model.architecture="cnn-small"', 'training.protocol="fedavg"']).to_dict()
    older = copy.deepcopy(d)
    del older["model"]["batch_norm"]
    assert setting_key(d) == setting_key(older)
    d["model"]["batch_norm"] = "local"
    assert setting_key(d) != setting_key(older)
