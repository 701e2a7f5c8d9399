"""A Keras model as a stacked forward plan: a tuple of small frozen ops with named fields, what the
stacked engine runs for K learners at once and what its compiled programs are keyed by.

Supported layers: Dense (with L1/L2 weight regularizers), Flatten, noise layers, seeded dropout.
Anything else (Conv2D, BatchNormalization, a plug-in's custom layer, activity regularizers or add_loss)
is refused with a message pointing to engine = "tff". A regularizer becomes a `Penalty` op, which the
forward pass skips and `penalty` adds to each model's training objective, as Keras adds `model.losses`
(the TFF engine adds `model.losses` itself).

A `Noise` op names its distribution, seed and stream but no level: the level is a runtime input of
the round (keyed by stream), so no level can be part of a compiled program's structure.
"""
from __future__ import annotations

from dataclasses import dataclass

from tffnoise.errors import UserError


@dataclass(frozen=True)
class Dense:
    kernel: int            # index of the kernel in the model's weights (Keras order)
    bias: int | None       # index of the bias, None without one
    activation: str


@dataclass(frozen=True)
class Flatten:
    pass


@dataclass(frozen=True)
class Noise:
    distribution: str
    seed: int
    stream: str            # "input" or "hidden": the mechanism whose runtime level scales it


@dataclass(frozen=True)
class Dropout:
    rate: float
    seed: int


@dataclass(frozen=True)
class Penalty:
    weight: int            # index of the regularized weight
    l1: float
    l2: float


def stack_plan(model) -> tuple:
    import tensorflow as tf

    from tffnoise.noise.layers import AdditiveNoise, SeededDropout

    plan, w, levels = [], 0, {}
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        if isinstance(layer, tf.keras.layers.Flatten):
            plan.append(Flatten())
        elif isinstance(layer, tf.keras.layers.Dense):
            act = tf.keras.activations.serialize(layer.activation)
            act = act if isinstance(act, str) else act.get("config", {}).get("name", "linear")
            bias = w + 1 if layer.use_bias else None
            plan.append(Dense(w, bias, act))
            plan += [_penalty(model, layer, wi, reg) for wi, reg in ((w, layer.kernel_regularizer), (bias, layer.bias_regularizer))
                     if reg is not None and wi is not None]
            w += 2 if layer.use_bias else 1
        elif isinstance(layer, AdditiveNoise):
            plan.append(Noise(layer.distribution, layer.seed, layer.stream))
            if levels.setdefault(layer.stream, layer.level) != layer.level:
                raise UserError(f"engine: 'stacked' runs one level per noise stream; model {model.name!r} has "
                                f"{layer.stream} noise layers at levels {levels[layer.stream]} and {layer.level}: set engine = \"tff\"")
        elif isinstance(layer, SeededDropout):
            plan.append(Dropout(layer.rate, layer.seed))
        else:
            raise UserError(
                f"engine: 'stacked' supports models of Dense, Flatten, SeededDropout and noise layers; model "
                f"{model.name!r} has {type(layer).__name__} ({layer.name}): set engine = \"tff\"")
    if w != len(model.get_weights()):
        raise UserError(f"engine: 'stacked' cannot map the weights of model {model.name!r}: set engine = \"tff\"")
    if len(model.losses) != sum(isinstance(op, Penalty) for op in plan):
        raise UserError(f"engine: 'stacked' computes only Dense layers' weight regularizers; model {model.name!r} "
                        "has other losses (activity regularizers or add_loss): set engine = \"tff\"")
    return tuple(plan)


def _penalty(model, layer, wi: int, reg) -> Penalty:
    import tensorflow as tf

    kinds = (tf.keras.regularizers.L1, tf.keras.regularizers.L2, tf.keras.regularizers.L1L2)
    if type(reg) not in kinds:
        raise UserError(f"engine: 'stacked' computes L1/L2 weight regularizers only; model {model.name!r} layer "
                        f"{layer.name!r} has {type(reg).__name__}: set engine = \"tff\"")
    return Penalty(wi, float(getattr(reg, "l1", 0.0) or 0.0), float(getattr(reg, "l2", 0.0) or 0.0))


def noise_streams(plan) -> frozenset:
    """The streams whose level the plan's noise ops read at run time."""
    return frozenset(op.stream for op in plan if isinstance(op, Noise))


def layer_levels(model) -> dict:
    """stream -> level of the model's noise layers: the runtime level of a stream no mechanism sets (a
    plug-in model's own AdditiveNoise layers). One level per stream (`stack_plan` refuses two), since
    the plan's noise ops take their level by stream."""
    from tffnoise.noise.layers import AdditiveNoise

    return {layer.stream: layer.level for layer in model.layers if isinstance(layer, AdditiveNoise)}
