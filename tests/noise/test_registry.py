"""The mechanism registry: TF-free metadata, entry validation, built-ins that match their classes and the docs."""
from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from tffnoise.config.schema import NoiseSpec
from tffnoise.noise import registry, streams
from tffnoise.noise.registry import HOOKS, MechanismInfo

ROOT = Path(__file__).resolve().parents[2]
BUILTINS = ("weights", "input", "hidden", "gradient", "label")
METHOD = {"round_start": "on_round_start", "step_params": "on_step_params", "gradients": "on_gradients",
          "labels": "on_labels", "layer": "layer_kwargs"}


def test_metadata_imports_without_tensorflow():
    code = ("import sys, tffnoise.noise.registry, tffnoise.config, tffnoise.noise.doc_table, tffnoise.records.labels, "
            "tffnoise.records.groups, tffnoise_tui.widgets.config_form; "
            "tffnoise.config.config_from_dict({'noise': {'label': {}, 'hidden': {}}}); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tensorflow_federated')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_builtins_in_order_with_their_defaults():
    assert registry.names() == BUILTINS
    assert registry.get("weights").defaults == {"schedule": "sync", "decay": "inverse"}
    assert registry.get("gradient").defaults == {"distribution": "gaussian", "schedule": "step", "decay": "anneal"}
    assert registry.ordered(["label", "old", "weights", "hidden"]) == ["weights", "hidden", "label", "old"]
    fields = {f.name for f in dataclasses.fields(NoiseSpec)}
    for name in BUILTINS:
        info = registry.get(name)
        assert set(info.defaults) <= fields and info.where and info.paper and info.doc


@pytest.fixture(autouse=True)
def _no_probe():
    yield
    registry.unregister("probe")  # a test that failed after registering leaves the five built-ins for the rest


def _entry(**kw):
    base = dict(name="probe", impl="tffnoise.noise.weights:WeightNoise", hooks=frozenset({"gradients"}), stream=900)
    return MechanismInfo(**{**base, **kw})


@pytest.mark.parametrize("kw, words", [
    ({"hooks": frozenset({"gradients", "optimizer"})}, ["probe", "optimizer"]),
    ({"hooks": frozenset()}, ["probe", "non-empty"]),
    ({"name": "weights"}, ["weights", "already registered"]),
    ({"stream": 3}, ["probe", "stream 3", "'gradient'"]),
    ({"stream": -1}, ["probe", "stream -1"]),
    ({"stream": 7}, ["probe", "stream 7", "'dropout'"]),
    ({"name": "two words"}, ["two words"]),
    ({"impl": "tffnoise.noise.weights.WeightNoise"}, ["probe", "package.module:Class"]),
])
def test_register_refuses_a_bad_entry_by_name(kw, words):
    with pytest.raises(ValueError) as exc:
        registry.register(_entry(**kw))
    assert all(w in str(exc.value) for w in words), str(exc.value)
    assert registry.names() == BUILTINS


def test_unregister_and_register_again():
    info = registry.register(_entry())
    try:
        assert registry.names() == BUILTINS + ("probe",)
    finally:
        registry.unregister("probe")
    assert registry.names() == BUILTINS
    registry.unregister("probe")  # not there: nothing happens


def test_builtin_hooks_and_streams_match_the_tf_side():
    from tffnoise.noise import rng
    from tffnoise.noise.base import Mechanism

    for name in BUILTINS:
        info = registry.get(name)
        cls = info.load()
        assert issubclass(cls, Mechanism)
        overridden = {h for h in HOOKS if getattr(cls, METHOD[h]) is not getattr(Mechanism, METHOD[h])}
        assert overridden == set(info.hooks), name
        assert info.stream == rng.STREAMS[name], name
    assert streams.STREAMS == rng.STREAMS
    assert registry.get("input").load().__module__ == "tffnoise.noise.input"
    assert registry.get("hidden").load().__module__ == "tffnoise.noise.hidden"


def _call(method, *args, level):
    """A hook call with the level when the hook takes it (the explicit-level hooks of interface 1)."""
    params = inspect.signature(method).parameters
    return method(*args, level) if "level" in params else method(*args)


def test_a_mechanism_is_the_identity_where_it_does_not_act():
    import tensorflow as tf

    from tffnoise.config import config_from_dict

    cfg = config_from_dict({"noise": {n: {"level": 0.5} for n in ("weights", "gradient", "label")}})
    mechs = {m.name: m for m in registry.build(cfg.noise)}
    assert list(mechs) == ["weights", "gradient", "label"]
    keys = tf.constant([3, 4], tf.int64)
    params = [tf.ones([2, 3]), tf.zeros([2])]
    y = tf.constant([[1, 2], [0, 1]], tf.int32)
    g = tf.constant(1, tf.int64)
    grad, label, weights = mechs["gradient"], mechs["label"], mechs["weights"]
    for m in (grad, label):
        assert _call(m.on_round_start, params, keys, g, level=0.5) is params
        assert _call(m.on_step_params, params, keys, g, level=0.5) is params
    assert _call(label.on_gradients, params, keys, g, level=0.5) is params
    assert _call(weights.on_gradients, params, keys, g, level=0.5) is params
    assert _call(grad.on_labels, y, keys, g, 10, level=0.5) is y
    assert grad.layer_kwargs() is None and weights.layer_kwargs() is None
    # and where it does act, it changes the values
    assert _call(grad.on_gradients, params, keys, g, level=0.5)[0] is not params[0]


def test_docs_table_is_the_registry():
    from tffnoise.noise.doc_table import BEGIN, END, render

    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    block = text[text.index(BEGIN): text.index(END) + len(END)]
    assert block == render(), "docs/config.md is stale: paste `python -m tffnoise.noise.doc_table` between the markers"
    for name in BUILTINS:
        assert f"| `{name}` |" in block
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in readme for name in registry.names())
