"""Paper 2's CNN layers as stacked plan ops (plan.py): what `stack_plan` reads from a Conv2D,
BatchNormalization or pooling layer, and what it refuses (channels first, dilation, groups, frozen
batch norm), so a layer the stacked forward pass would compute differently from Keras never runs."""
from __future__ import annotations

from tffnoise.algorithms.plan import BatchNorm, Conv2D, GlobalAvgPool, Pool2D, activation_name
from tffnoise.errors import UserError


def _refuse(model, layer, what: str):
    raise UserError(f"engine: 'stacked' computes {type(layer).__name__} {what} only; model {model.name!r} layer "
                    f"{layer.name!r} differs: set engine = \"tff\"")


def _channels_last(model, layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        _refuse(model, layer, "with data_format = 'channels_last'")


def cnn_op(model, layer, at):
    """The plan op of a CNN layer (`at(variable)` -> its weight index), or None for another layer."""
    import tensorflow as tf

    L = tf.keras.layers
    if isinstance(layer, L.Conv2D) and type(layer) is L.Conv2D:
        _channels_last(model, layer)
        if tuple(layer.dilation_rate) != (1, 1) or getattr(layer, "groups", 1) != 1:
            _refuse(model, layer, "without dilation or groups")
        if layer.kernel_regularizer is not None or layer.bias_regularizer is not None:
            _refuse(model, layer, "without weight regularizers")
        return Conv2D(at(layer.kernel), at(layer.bias if layer.use_bias else None), activation_name(layer.activation),
                      tuple(layer.strides), layer.padding.upper(), layer.compute_dtype)
    if isinstance(layer, L.BatchNormalization):
        axis = layer.axis if isinstance(layer.axis, int) else (layer.axis[0] if len(layer.axis) == 1 else None)
        if axis is None or axis not in (-1, len(layer.input.shape) - 1):
            _refuse(model, layer, "over the last axis")
        if not layer.trainable or getattr(layer, "renorm", False) or getattr(layer, "virtual_batch_size", None):
            _refuse(model, layer, "trainable, without renorm or virtual batches")
        if layer.gamma_regularizer is not None or layer.beta_regularizer is not None:
            _refuse(model, layer, "without weight regularizers")
        return BatchNorm(at(layer.gamma if layer.scale else None), at(layer.beta if layer.center else None),
                         at(layer.moving_mean), at(layer.moving_variance), float(layer.momentum), float(layer.epsilon),
                         bool(layer.fused), layer.compute_dtype)
    if isinstance(layer, (L.MaxPooling2D, L.AveragePooling2D)):
        _channels_last(model, layer)
        kind = "max" if isinstance(layer, L.MaxPooling2D) else "avg"
        return Pool2D(kind, tuple(layer.pool_size), tuple(layer.strides), layer.padding.upper())
    if isinstance(layer, L.GlobalAveragePooling2D):
        _channels_last(model, layer)
        if layer.keepdims:
            _refuse(model, layer, "with keepdims = False")
        return GlobalAvgPool()
    return None
