"""A Keras model as a stacked forward plan: a tuple of small frozen ops with named fields, what the
stacked engine runs for K learners at once and what its compiled programs are keyed by.

Supported layers: Dense (with L1/L2 weight regularizers), Flatten, noise layers, seeded dropout, and
paper 2's CNN layers (Conv2D, BatchNormalization, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D;
channels last). Anything else (a plug-in's custom layer, activity regularizers or add_loss) is refused
with a message pointing to engine = "tff". A regularizer becomes a `Penalty` op, which the
forward pass skips and `penalty` adds to each model's training objective, as Keras adds `model.losses`
(the TFF engine adds `model.losses` itself).

Ops that compute carry the layer's compute dtype (Keras mixed precision: float16 or bfloat16 compute,
float32 weights, the float32 output layer keeps the loss in float32).

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
    dtype: str = "float32"  # the layer's compute dtype (mixed precision: float16; weights stay float32)


@dataclass(frozen=True)
class Flatten:
    pass


@dataclass(frozen=True)
class Noise:
    distribution: str
    seed: int
    stream: str            # "input" or "hidden": the mechanism whose runtime level scales it
    dtype: str = "float32"


@dataclass(frozen=True)
class Dropout:
    rate: float
    seed: int


@dataclass(frozen=True)
class Conv2D:
    kernel: int            # [kh, kw, C, F] per model
    bias: int | None
    activation: str
    strides: tuple
    padding: str           # "SAME" or "VALID"
    dtype: str = "float32"


@dataclass(frozen=True)
class BatchNorm:
    """Over the last axis. Training: batch statistics per model; the moving ones follow
    m ← momentum·m + (1 − momentum)·batch, as Keras. Inference: the moving statistics. Keras's fused
    kernel (4-D inputs) moves the variance towards the unbiased batch variance (n/(n − 1) times the
    one it normalizes with), its other path towards the biased one: `unbiased` says which."""
    gamma: int | None      # None without scale
    beta: int | None       # None without center
    mean: int              # moving mean (not trained: updated by the forward pass)
    var: int               # moving variance
    momentum: float
    epsilon: float
    unbiased: bool         # the moving variance follows the unbiased batch variance (Keras's fused path)
    dtype: str = "float32"  # of its output; the statistics are computed in float32


@dataclass(frozen=True)
class Pool2D:
    kind: str              # "max" or "avg"
    size: tuple
    strides: tuple
    padding: str


@dataclass(frozen=True)
class GlobalAvgPool:
    pass


@dataclass(frozen=True)
class Penalty:
    weight: int            # index of the regularized weight
    l1: float
    l2: float


def stack_plan(model) -> tuple:
    import tensorflow as tf

    from tffnoise.noise.layers import AdditiveNoise, SeededDropout

    from tffnoise.algorithms.plan_cnn import cnn_op

    # Weights are indexed in the model's own order (Keras lists every trainable weight before the
    # non-trainable ones, so a layer's weights need not be adjacent).
    index = {id(v): j for j, v in enumerate(model.weights)}
    plan, levels, used = [], {}, set()

    def at(v):
        if v is None:
            return None
        used.add(index[id(v)])
        return index[id(v)]

    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.InputLayer):
            continue
        if isinstance(layer, tf.keras.layers.Flatten):
            plan.append(Flatten())
        elif isinstance(layer, tf.keras.layers.Dense):
            kernel, bias = at(layer.kernel), at(layer.bias if layer.use_bias else None)
            plan.append(Dense(kernel, bias, activation_name(layer.activation), layer.compute_dtype))
            plan += [_penalty(model, layer, wi, reg) for wi, reg in ((kernel, layer.kernel_regularizer), (bias, layer.bias_regularizer))
                     if reg is not None and wi is not None]
        elif (op := cnn_op(model, layer, at)) is not None:
            plan.append(op)
        elif isinstance(layer, AdditiveNoise):
            plan.append(Noise(layer.distribution, layer.seed, layer.stream, layer.compute_dtype))
            if levels.setdefault(layer.stream, layer.level) != layer.level:
                raise UserError(f"engine: 'stacked' runs one level per noise stream; model {model.name!r} has "
                                f"{layer.stream} noise layers at levels {levels[layer.stream]} and {layer.level}: set engine = \"tff\"")
        elif isinstance(layer, SeededDropout):
            plan.append(Dropout(layer.rate, layer.seed))
        else:
            raise UserError(
                f"engine: 'stacked' supports models of Dense, Flatten, Conv2D, BatchNormalization, pooling, SeededDropout "
                f"and noise layers; model "
                f"{model.name!r} has {type(layer).__name__} ({layer.name}): set engine = \"tff\"")
    if used != set(range(len(model.weights))):
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


def activation_name(fn) -> str:
    import tensorflow as tf

    act = tf.keras.activations.serialize(fn)
    return act if isinstance(act, str) else act.get("config", {}).get("name", "linear")


def untrained(plan) -> frozenset:
    """Weight indices the forward pass updates instead of SGD (batch-norm moving statistics)."""
    return frozenset(i for op in plan if isinstance(op, BatchNorm) for i in (op.mean, op.var))


def batch_norm_weights(plan) -> frozenset:
    """Every weight of the plan's batch-norm layers (FedBN keeps these local to each learner)."""
    return frozenset(i for op in plan if isinstance(op, BatchNorm)
                     for i in (op.gamma, op.beta, op.mean, op.var) if i is not None)


def noise_streams(plan) -> frozenset:
    """The streams whose level the plan's noise ops read at run time."""
    return frozenset(op.stream for op in plan if isinstance(op, Noise))


def layer_levels(model) -> dict:
    """stream -> level of the model's noise layers: the runtime level of a stream no mechanism sets (a
    plug-in model's own AdditiveNoise layers). One level per stream (`stack_plan` refuses two), since
    the plan's noise ops take their level by stream."""
    from tffnoise.noise.layers import AdditiveNoise

    return {layer.stream: layer.level for layer in model.layers if isinstance(layer, AdditiveNoise)}
