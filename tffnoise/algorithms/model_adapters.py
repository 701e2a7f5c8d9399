"""The two ways a model runs inside the one client update (client_update.py), behind one small
interface, so the local steps, noise hooks and DP-SGD are written once for both engines.

An adapter holds `trainable` (per weight, Keras order: updated by SGD, else by the layer's own forward
pass, e.g. batch-norm statistics) and two methods on the learner axis K:

- `loss_and_grads(params, x, y, step_keys, levels, need_grads)` -> (grads, outputs, per-example
  loss [K, B], batch loss [K], weights after the forward pass): the forward pass with training=True
  under each learner's step key, the loss of losses.py plus the model's regularization (objective
  only), and its gradient for every weight slot (zeros where a weight is not trained);
- `microbatch_grads(params, x, y, step_keys, mb, levels)` -> per weight [K·mb, ...], row k·mb + i
  learner k's microbatch i (None where not trained): each microbatch's gradient, its forward pass under its own key (`dp.microbatch_keys`).

`StackedLearners` runs the stacked plan for all K learners at once; `KerasLearner` runs the Keras
model for K = 1 (the TFF engine's client), so models the stacked plan refuses (a plug-in's custom
layers) keep working. Both mark batch-norm statistics untrained: SGD and weight noise leave them to the
forward pass (client_update.local_round applies the mask once, for both). Its noise layers use their own level (the model is built per cell); the
stacked plan reads `levels`.
"""
from __future__ import annotations

import tensorflow as tf

from tffnoise.algorithms import losses
from tffnoise.algorithms.dp import microbatch_keys
from tffnoise.algorithms.forward import forward, forward_with_state, penalty
from tffnoise.algorithms.plan import untrained
from tffnoise.noise.context import step_key


def _split(t, mb: int):
    """[K, B, ...] -> [K·mb, B/mb, ...]: microbatch i of learner k is row k·mb + i."""
    return tf.reshape(t, tf.concat([[t.shape[0] * mb, -1], tf.shape(t)[2:]], 0))


class StackedLearners:
    def __init__(self, plan, loss_kind: str, n_weights: int):
        self.plan, self.kind = plan, loss_kind
        fixed = untrained(plan)  # batch-norm statistics: the forward pass updates them, not SGD
        self.trainable = [j not in fixed for j in range(n_weights)]

    def loss_and_grads(self, params, x, y, sk, levels, need_grads=True):
        with tf.GradientTape() as tape:
            tape.watch(params)
            out, after = forward_with_state(self.plan, params, x, sk, levels)
            pe = losses.per_example(self.kind, out, y)
            bl = losses.batch_loss(self.kind, pe)
            total = tf.reduce_sum(bl)
            reg = penalty(self.plan, params)  # a plug-in's weight regularizers (model.losses): objective only
            if reg is not None:
                total = total + tf.reduce_sum(reg)
        grads = None
        if need_grads:  # every weight keeps its slot (zeros where not trained), as KerasLearner's
            grads = [tf.zeros_like(w) if g is None else g for g, w in zip(tape.gradient(total, params), params)]
        return grads, out, pe, bl, after

    def microbatch_grads(self, params, x, y, sk, mb: int, levels):
        """Every learner's weights repeated once per microbatch: one batched backward pass."""
        K = params[0].shape[0]
        rep = [tf.repeat(w, mb, axis=0) for w in params]
        with tf.GradientTape() as tape:
            tape.watch(rep)
            out = forward(self.plan, rep, _split(x, mb), tf.reshape(microbatch_keys(sk, mb), [K * mb]), levels)
            total = tf.reduce_sum(losses.batch_loss(self.kind, losses.per_example(self.kind, out, _split(y, mb))))
        grads = tape.gradient(total, rep)
        return grads


class KerasLearner:
    """One learner (K = 1) through a Keras model: the weights are assigned to its variables, the batch
    runs through `model(x, training=True)` inside `step_key(...)` (its noise layers and dropout draw the
    stacked engine's numbers), and batch-norm statistics are what the layer's forward pass left."""

    def __init__(self, model, loss_kind: str, trainable: list):
        self.model, self.kind, self.trainable = model, loss_kind, list(trainable)
        self.variables = list(model.weights)
        self.index = [j for j, tr in enumerate(self.trainable) if tr]

    def _trained(self):
        return [self.variables[j] for j in self.index]

    def loss_and_grads(self, params, x, y, sk, levels, need_grads=True):
        for v, w in zip(self.variables, params):
            v.assign(w[0])
        with tf.GradientTape() as tape:
            with step_key(sk[0]):
                out = self.model(x[0], training=True)[None]
            pe = losses.per_example(self.kind, out, y)
            bl = losses.batch_loss(self.kind, pe)
            # a plug-in's regularization losses join the objective, as in Keras; the reported loss is the data's
            objective = tf.reduce_sum(bl) + tf.add_n(self.model.losses) if self.model.losses else tf.reduce_sum(bl)
        # What the full-batch pass left in the non-trainable weights (BN statistics), read before any
        # DP-SGD microbatch pass runs the layers again.
        after = [v.read_value()[None] for v in self.variables]
        grads = None
        if need_grads:
            tgrads = tape.gradient(objective, self._trained())
            grads = [tf.zeros_like(w) for w in params]  # every weight keeps its slot: draws keep Keras indices
            for k, j in enumerate(self.index):
                if tgrads[k] is not None:
                    grads[j] = tf.convert_to_tensor(tgrads[k])[None]
        return grads, out, pe, bl, after

    def microbatch_grads(self, params, x, y, sk, mb: int, levels):
        """The stacked engine's microbatch i (examples i·B/mb ... (i+1)·B/mb − 1) under its own key."""
        mkeys = microbatch_keys(sk, mb)
        xs, ys = _split(x, mb), _split(y, mb)
        trained = self._trained()
        per_mb = []
        for i in range(mb):
            with tf.GradientTape() as tape:
                with step_key(mkeys[0, i]):
                    out = self.model(xs[i], training=True)
                loss = losses.batch_loss(self.kind, losses.per_example(self.kind, out, ys[i]))
            gs = tape.gradient(loss, trained)
            per_mb.append([tf.zeros_like(v) if gr is None else tf.convert_to_tensor(gr) for gr, v in zip(gs, trained)])
        out = [None] * len(params)
        for k, j in enumerate(self.index):
            out[j] = tf.stack([pm[k] for pm in per_mb])  # [1·mb, ...]
        return out
