"""The model of each benchmark row's work (FLOPs and bytes per example) and its fraction of this
machine's limits (benchmarks/limits.py). docs/performance.md states the same model in words.

An MLP with P weights (kernels and biases) per model, batch B, input width d:
- FLOPs per training example: forward 2·P (a multiply and an add per weight), backward ≈ 4·P (the
  input gradient and the weight gradient, 2·P each; the first layer's input gradient is not needed, so
  this slightly over-counts), 6·P in all. Per evaluated test example and model: 2·P. Noise draws,
  averaging and the loss are O(P) per round or O(outputs) per example: left out.
- Bytes per training example: the example itself (4·(d + 1): features and label) plus, when the
  models' weights cannot stay in cache, the weight traffic of each SGD step spread over its B examples:
  WEIGHT_PASSES·4·P / B with WEIGHT_PASSES = 3 (the weights read by the forward pass, read again by the
  backward pass, written by the update: the least a step moves; a materialized gradient adds two more).
  Weights stay in cache when the resident models' weights, CACHE_COPIES = 2 times (weights and their
  gradient or perturbed copy), fit in the last-level cache. Resident models: those one step touches
  together: every stacked learner of a cell, one model for Keras, a TFF client or the TFF engine.

A CNN (cnn_work, counted from the built Keras model's layers, so it follows the architecture):
- FLOPs per training example: 3 × forward, forward = 2·MACs, MACs per Conv2D layer
  H_out·W_out·C_out·(k_h·k_w·C_in / groups) (strides and padding through H_out, W_out), per Dense layer
  in·out; the backward pass ≈ 2 × forward (input and weight gradients). Evaluation: the forward only.
- Bytes per training example: the example itself plus ACT_PASSES = 3 passes (forward read and write,
  backward) of 4 bytes over the input and output elements of every bandwidth-bound layer: batch norm,
  pooling, noise, dropout, activations (a convolution's fused ReLU: its output, read and written). Their
  FLOPs (a few per element) are left out, as are the loss, the softmax and the optimizer's O(P) update;
  the weight-traffic rule is the MLP's with P the trainable weights (kernels, biases, batch-norm scales).
  Convolution inputs re-read through im2col or cache blocking are not counted: a lower bound on bytes.

A row's fraction of limit is max(FLOP rate / FLOP limit, byte rate / bandwidth limit); `bound` names the
larger (the ratio of the two is the row's FLOP per byte over the machine's balance). Steady uses the
training examples and time after the first round; end to end adds the evaluation's FLOPs and divides by
the whole row's time.
"""
from __future__ import annotations

WEIGHT_PASSES = 3
BLOCK_PASSES = 2  # a learner block's round: its weights read once and written once
CACHE_COPIES = 2
BYTES = 4  # float32


def mlp_params(dims) -> int:
    """Weights of a dense network with layer widths dims (input, hidden..., output), biases included."""
    return sum(i * o + o for i, o in zip(dims, dims[1:]))


def work(dims, batch: int, resident: int, eval_models: int = 1, test: int = 0, block_steps: int = 0) -> dict:
    """The row fields the model needs; attached to a row as row["work"]. block_steps = b when the stacked
    round runs in learner blocks (round_program.learner_block; `resident` is then the block's learners):
    each weight is read and written once per round of b steps, not WEIGHT_PASSES times a step."""
    return {"dims": list(dims), "batch": batch, "resident": resident, "eval_models": eval_models, "test": test,
            "block_steps": block_steps}


def per_example(w: dict, llc_bytes: int) -> dict:
    if "macs" in w:  # a CNN (cnn_work): forward 2·MACs, elementwise layers' activations moved ACT_PASSES times
        P, fwd, d = w["params"], 2.0 * w["macs"], w["input"]
        act_bytes = ACT_PASSES * BYTES * w["act_elements"]
    else:
        P, d, act_bytes = mlp_params(w["dims"]), w["dims"][0], 0.0
        fwd = 2.0 * P
    from_memory = CACHE_COPIES * w["resident"] * BYTES * P > llc_bytes
    weight_bytes = WEIGHT_PASSES * BYTES * P / w["batch"] if from_memory else 0.0
    if w.get("block_steps") and not from_memory:  # a block's weights in cache for its round: in and out once
        weight_bytes = BLOCK_PASSES * BYTES * P / (w["batch"] * w["block_steps"])
    return {"params": P, "flops": 3.0 * fwd, "eval_flops": fwd, "bytes": BYTES * (d + 1) + act_bytes + weight_bytes,
            "weights_from_memory": from_memory}


def fractions(row: dict, lim: dict) -> dict:
    """fraction_steady / fraction_e2e of the binding limit, the bound, and the rates behind them."""
    w = row.get("work")
    if not w or not lim:
        return {}
    ex = per_example(w, lim["llc_bytes"])
    flop_limit, byte_limit = lim["gflops"] * 1e9, lim["gbs"] * 1e9
    out = {"flops_per_example": ex["flops"], "bytes_per_example": ex["bytes"],
           "bound": "FLOP" if ex["flops"] / ex["bytes"] >= flop_limit / byte_limit else "memory"}
    steady = row.get("steady_ex_per_s")
    if steady:
        out["steady_gflops"] = steady * ex["flops"] / 1e9
        out["steady_gbs"] = steady * ex["bytes"] / 1e9
        out["fraction_steady"] = max(steady * ex["flops"] / flop_limit, steady * ex["bytes"] / byte_limit)
    if row.get("e2e_s") and row.get("examples"):
        flops = row["examples"] * ex["flops"] + w["test"] * w["eval_models"] * ex["eval_flops"]
        moved = row["examples"] * ex["bytes"]
        out["fraction_e2e"] = max(flops / flop_limit, moved / byte_limit) / row["e2e_s"]
    return out


# --- convolutional networks (the cnn rows), counted from the built Keras model's layers -----------------
ACT_PASSES = 3      # an elementwise layer's tensors: read + written forward, read again backward (≈ 3 passes)
SHAPE_ONLY = ("InputLayer", "Flatten", "Reshape")


def _size(shape) -> int:
    n = 1
    for d in shape[1:]:  # per example: drop the batch axis
        n *= int(d)
    return n


def layer_counts(model) -> dict:
    """Per example and model, from a built Keras model: forward multiply-adds of its Conv2D and Dense
    layers (H_out·W_out·C_out·k_h·k_w·C_in/groups; in·out), its weights, and the elements its
    bandwidth-bound layers touch (batch norm, pooling, noise, dropout, activations, a conv's or dense
    layer's fused activation: input + output elements each)."""
    macs = params = elements = 0
    for layer in model.layers:
        kind = type(layer).__name__
        params += sum(int(_size((None, *w.shape))) for w in layer.weights if w.trainable)
        if kind in SHAPE_ONLY:
            continue
        out = _size(layer.output_shape)
        if kind in ("Conv2D", "Dense"):
            k = layer.kernel.shape  # conv: (k_h, k_w, C_in / groups, C_out); dense: (in, out)
            positions = out // int(k[-1])  # H_out·W_out for a convolution (strides and padding included), 1 for dense
            macs += positions * _size((None, *k))
            if getattr(layer.activation, "__name__", "linear") != "linear":
                elements += 2 * out
        else:
            elements += _size(layer.input_shape) + out
    return {"macs": macs, "params": params, "act_elements": elements, "input": _size(model.input_shape)}


def cnn_work(model, batch: int, resident: int, eval_models: int = 1, test: int = 0) -> dict:
    """Like work(), for a built Keras CNN: its counts travel with the row (JSON), not the model."""
    return {**layer_counts(model), "batch": batch, "resident": resident, "eval_models": eval_models, "test": test}
