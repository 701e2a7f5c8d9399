"""The papers' architectures as Sequential Keras models (TFF's from_keras_model and the stacked engine
both read Sequential/functional models).

Initializers are seeded from (experiment seed, repeat, layer) so repeats differ only by seed; every
noise layer gets its own seed (paper 2: uncorrelated noise layers).
"""
from __future__ import annotations

import tensorflow as tf

from tffnoise.errors import ConfigError, UserError
from tffnoise.noise.layers import AdditiveNoise, SeededDropout

# Paper 2's three CNNs: (conv filters per block, dense widths); parameter counts at width 1 are
# listed in docs (about 2.4M, 22M and 43M).
CNN_SPECS = {
    "cnn-small": ([64, 128, 256], [512]),
    "cnn-medium": ([128, 256, 512, 1024], [3840]),
    "cnn-large": ([128, 256, 512, 1024, 2048], [2048, 1024]),
}


class _Seeds:
    def __init__(self, seed: int):
        self.seed, self.n = int(seed), 0

    def next(self) -> int:
        self.n += 1
        return (self.seed * 1_000_003 + self.n * 7919) % (2**31 - 1)


def _noise_kwargs(mechanisms, name):
    for m in mechanisms:
        if m.name == name:
            return m.layer_kwargs()
    return None


def build_model(model_cfg, input_shape, num_classes: int, mechanisms=(), seed: int = 0) -> tf.keras.Model:
    if model_cfg.builder:
        return build_plugin(model_cfg.builder, input_shape, num_classes, seed)
    if not model_cfg.mixed_precision:
        return _build(model_cfg, input_shape, num_classes, mechanisms, seed)
    # Layers take the global policy when they are created; restore it so other models stay float32.
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        return _build(model_cfg, input_shape, num_classes, mechanisms, seed)
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)


def _build(model_cfg, input_shape, num_classes: int, mechanisms, seed: int) -> tf.keras.Model:
    seeds = _Seeds(seed)
    inp = _noise_kwargs(mechanisms, "input")
    hid = _noise_kwargs(mechanisms, "hidden")
    out_units = num_classes if model_cfg.output == "softmax" else 1
    out_act = "softmax" if model_cfg.output == "softmax" else "linear"
    layers = [tf.keras.Input(shape=tuple(input_shape))]
    # One seed counter per purpose (input noise, hidden noise, dropout): switching one mechanism on or off
    # leaves the others' draws as they were, so a paired comparison differs only by what was changed.
    counters = {"input": 0, "hidden": 0, "dropout": 0}

    def next_id(purpose: str) -> int:
        counters[purpose] += 1
        return counters[purpose]

    def noise(kwargs):
        layer_id = next_id(kwargs["stream"])
        return AdditiveNoise(**kwargs, seed=layer_id, name=f"{kwargs['stream']}_noise_{layer_id}")

    def dropout():
        layer_id = next_id("dropout")
        return SeededDropout(model_cfg.dropout, seed=layer_id, name=f"dropout_{layer_id}")

    if inp:
        layers.append(noise(inp))
    arch = model_cfg.architecture
    if arch in ("mlp", "linear"):
        if len(input_shape) > 1:
            layers.append(tf.keras.layers.Flatten())
        widths = list(model_cfg.hidden) if arch == "mlp" else []
        for i, w in enumerate(widths):
            layers.append(tf.keras.layers.Dense(w, activation=model_cfg.activation, name=f"dense_{i}",
                                                kernel_initializer=tf.keras.initializers.GlorotUniform(seeds.next())))
            if hid:
                layers.append(noise(hid))
            if model_cfg.dropout > 0:
                layers.append(dropout())
    elif arch in CNN_SPECS:
        if len(input_shape) != 3:
            raise ConfigError("model.architecture", arch, "mlp or linear for non-image data")
        filters, dense = CNN_SPECS[arch]
        for i, f in enumerate(filters):
            # Paper 2's block: noise layer -> batch norm -> conv.
            if hid:
                layers.append(noise(hid))
            layers.append(tf.keras.layers.BatchNormalization(name=f"bn_{i}"))
            layers.append(tf.keras.layers.Conv2D(max(1, int(f * model_cfg.width)), 3, padding="same", activation="relu",
                                                 kernel_initializer=tf.keras.initializers.GlorotUniform(seeds.next()),
                                                 name=f"conv_{i}"))
            if i < 4:
                layers.append(tf.keras.layers.MaxPooling2D(2, name=f"pool_{i}"))
        layers.append(tf.keras.layers.Flatten())
        for j, w in enumerate(dense):
            if hid:
                layers.append(noise(hid))
            layers.append(tf.keras.layers.Dense(max(1, int(w * model_cfg.width)), activation="relu", name=f"fc_{j}",
                                                kernel_initializer=tf.keras.initializers.GlorotUniform(seeds.next())))
            if model_cfg.dropout > 0:
                layers.append(dropout())
    else:
        raise ConfigError("model.architecture", arch, "one of mlp, linear, " + ", ".join(CNN_SPECS))
    layers.append(tf.keras.layers.Dense(out_units, activation=out_act, name="output", dtype="float32",
                                        kernel_initializer=tf.keras.initializers.GlorotUniform(seeds.next())))
    return tf.keras.Sequential(layers, name=arch)


def build_plugin(path: str, input_shape, num_classes: int, seed: int) -> tf.keras.Model:
    """Plug-in contract: fn(input_shape: tuple, num_classes: int, seed: int) -> tf.keras.Model whose output
    is softmax probabilities over num_classes (or one linear unit for ±1 targets).

    Randomness must come from tffnoise's keyed layers (`tffnoise.noise.layers.SeededDropout`,
    `AdditiveNoise`): Keras's own random layers draw from Keras's generator, which the stacked engine
    cannot reproduce and the run's seed does not key, so the engines would train different models and
    a rerun would not reproduce its run. Regularization losses (`model.losses`)
    are added to the training objective in both engines (the stacked engine: L1/L2 weight regularizers
    of Dense layers)."""
    from tffnoise.data.plugin import load_callable

    fn = load_callable(path, "model.builder")
    try:
        model = fn(tuple(input_shape), int(num_classes), int(seed))
    except Exception as exc:
        raise UserError(f"model.builder: {path} raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, tf.keras.Model):
        raise UserError(f"model.builder: {path} returned {type(model).__name__}, expected a tf.keras.Model")
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise UserError(f"model.builder: {path} built input shape {model.input_shape[1:]}, the data has {tuple(input_shape)}")
    out_units = model.output_shape[-1]
    if out_units not in (num_classes, 1):
        raise UserError(f"model.builder: {path} outputs {out_units} units; expected {num_classes} (softmax) or 1 (±1 targets)")
    _refuse_keras_randomness(path, model)
    return model


def _keras_random_layers():
    base = getattr(getattr(tf.keras, "__internal__", None), "layers", None)
    base = getattr(base, "BaseRandomLayer", None)
    kinds = (tf.keras.layers.Dropout, tf.keras.layers.GaussianNoise, tf.keras.layers.GaussianDropout,
             tf.keras.layers.AlphaDropout)
    return kinds + ((base,) if base is not None else ())


def _refuse_keras_randomness(path: str, model: tf.keras.Model) -> None:
    kinds = _keras_random_layers()
    for layer in model.submodules:
        if isinstance(layer, kinds) and not isinstance(layer, (SeededDropout, AdditiveNoise)):
            raise ConfigError("model.builder", path,
                              f"a model without Keras's own random layers: {layer.name!r} is {type(layer).__name__}, "
                              "whose draws come from Keras's generator, not the run's keyed stream (the engines would differ, "
                              "reruns would not reproduce); use tffnoise.noise.layers.SeededDropout(rate, seed=...) "
                              "(AdditiveNoise for noise)")


def check_plugin(cfg, model: tf.keras.Model) -> None:
    """What a plug-in model cannot do under this config (checked before anything is written)."""
    if model.losses and cfg.privacy.mode == "dp-sgd":
        raise ConfigError("model.builder", cfg.model.builder,
                          "a model without regularization losses (model.losses) with privacy.mode = 'dp-sgd', "
                          "which clips per-example gradients of the data loss only (or privacy.mode = 'dp-fedavg')")
