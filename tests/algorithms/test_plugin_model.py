"""A plug-in model under both engines: its regularization losses (`model.losses`) are part of the training
objective, as in Keras; what an engine cannot honour (Keras's own random layers, other losses in the stacked
engine, regularizers under DP-SGD) is a one-line error before anything is written."""

import numpy as np
import pytest

from tffnoise.config import expand, load_config, load_dict
from tffnoise.errors import ConfigError, UserError

PLUGINS = "tests.algorithms.plugin_models"
LR, STEPS = 0.5, 3
BASE = ['data.source="digits"', "data.clients=2", "data.examples_per_client=20", "data.test_examples=40",
        'training.protocol="serial"', "training.batch_size=5", f"training.sync_period={STEPS}", "training.rounds=1",
        f"training.learning_rate={LR}", "experiment.seed=3", "privacy.membership_inference=false",
        f'model.builder="{PLUGINS}:regularized"']


def _problem(extra=()):
    from tffnoise.algorithms.problem import prepare

    return prepare(load_config(None, BASE + list(extra)), [0])


def keras_reference(problem, with_losses: bool = True):
    """The serial learner's SGD steps written with Keras alone: Keras's cross-entropy on the batch plus
    `sum(model.losses)`, the objective `model.fit` would minimise."""
    import tensorflow as tf

    model = problem.model_fn(0)
    model.set_weights([w[0] for w in problem.init_weights])
    x, y = problem.x_clients[0, 0], problem.y_clients[0, 0]
    for s in range(STEPS):
        idx = problem.order[0, 0, s]
        with tf.GradientTape() as tape:
            out = model(x[idx], training=True)
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y[idx], out))
            if with_losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        for v, g in zip(model.trainable_variables, grads):
            v.assign_sub(LR * g)
    return model.get_weights()


def _close_to_reference(weights, problem):
    ref, plain = keras_reference(problem), keras_reference(problem, with_losses=False)
    # the regularizers move the weights far more than the tolerance: dropping them cannot pass
    assert max(np.abs(a - b).max() for a, b in zip(ref, plain)) > 1e-3
    for got, want in zip(weights, ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_stacked_engine_adds_the_plugins_weight_regularizers():
    from tffnoise.algorithms.stacked import StackedEngine

    problem = _problem()
    engine = StackedEngine(problem)
    engine.run_rounds(1)
    _close_to_reference(engine.final_weights(0), problem)


@pytest.mark.slow
def test_tff_engine_adds_the_plugins_model_losses():
    from tffnoise.algorithms.tff_engine import TffEngine

    problem = _problem(['engine="tff"'])
    engine = TffEngine(problem)
    engine.run_rounds(1)
    _close_to_reference(engine.final_weights(0), problem)


def test_stacked_engine_refuses_losses_it_cannot_compute():
    from tffnoise.algorithms.forward import stack_plan

    problem = _problem([f'model.builder="{PLUGINS}:activity"'])
    with pytest.raises(UserError, match=r'^engine: .*activity regularizers or add_loss.*set engine = "tff"'):
        stack_plan(problem.model_fn(0))


def test_regularizers_under_dp_sgd_are_refused_before_anything_is_written():
    from tffnoise.runner.sweep import preflight

    specs = expand(load_dict(None, BASE + ["privacy.mode=dp-sgd"]))
    with pytest.raises(ConfigError, match=r"^model.builder: .*model.losses.*privacy.mode = 'dp-sgd'"):
        preflight(specs)


@pytest.mark.parametrize("name, layer", [("keras_dropout", "Dropout"), ("keras_gaussian_noise", "GaussianNoise")])
def test_keras_random_layers_are_refused_naming_the_keyed_layer(name, layer):
    from tffnoise.algorithms.problem import load_data
    from tffnoise.models.builders import build_model

    cfg = load_config(None, BASE + [f'model.builder="{PLUGINS}:{name}"'])
    ds = load_data(cfg)
    with pytest.raises(ConfigError) as exc:
        build_model(cfg.model, ds.x_train.shape[1:], ds.num_classes)
    msg = str(exc.value)
    assert msg.startswith("model.builder:") and layer in msg and "SeededDropout" in msg and "\n" not in msg


def test_seeded_dropout_plugin_is_accepted_by_both_engines_paths():
    from tffnoise.algorithms.forward import stack_plan

    problem = _problem([f'model.builder="{PLUGINS}:seeded_dropout"'])
    assert [type(op).__name__ for op in stack_plan(problem.model_fn(0))] == ["Dense", "Dropout", "Dense"]


@pytest.mark.parametrize("engine", ["stacked", "tff"])
def test_a_sweep_with_keras_dropout_stops_before_the_store_is_written(tmp_path, engine):
    # in process (TensorFlow is loaded already); the CLI's one-line exit 2 for a ConfigError is tested in tests/config
    from tffnoise.runner.sweep import run_sweep

    out = tmp_path / "store"
    base = load_dict(None, BASE + [f'model.builder="{PLUGINS}:keras_dropout"', f'engine="{engine}"', f'out="{out}"'])
    with pytest.raises(ConfigError, match=r"^model.builder: .*SeededDropout"):
        run_sweep(base)
    assert not out.exists()
