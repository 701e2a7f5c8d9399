"""Algorithm 1 of paper 1 ("Periodic averaging protocol with zero-mean noise injection") in plain NumPy.

An independent reading of the paper (/work/shared/papers/noise-in-decentralized-training.txt), written
to check the engines, so it imports nothing from tffnoise. It is given, as data, what the paper leaves to
chance: the initial model ("local models f¹₁ … fᵐ₁ ← one random f"), each learner's examples and the
order it observes them in, and the unit noise draws ψ (a callback). Everything else is decided here:

* the protocol: at round t every learner takes b local SGD steps; "If t mod b = 0: synchronize local
  models: fⁱ ← (1/m) Σᵢ fⁱ" (periodic-averaging); serial is one learner on all the data; no-sync never
  averages;
* the schedule: "noise injection right after initialization" (init: ε₁ > 0, εₜ = 0 after); noise
  "injected to the local models' weights after every synchronization step ... the decaying factor is
  equal to the index number of the synchronization step, i.e. noise level is given by εₜ/t" (sync: ε at
  initialization, ε/k right after the k-th averaging; serial and no-sync count round boundaries); and
  the general form fⁱ ← φ(fⁱ + εₜψⁱ) at every update (step: ε/g before the g-th update);
* the learning algorithm φ: SGD, f ← (f + εψ) − η∇L(f + εψ) on the paper's summed loss
  Σⱼ ½(f(xⱼ) − yⱼ)² (its Eq. 1), or on the batch-mean cross-entropy of a softmax output;
* what is evaluated: "For evaluation of the synchronizing learners the last averaged model ... is used.
  For evaluation of the no-sync baseline we pick one random model among locally trained ones" (here:
  every learner, the caller picks); the serial model after its steps.

Float64 throughout. The model is an MLP given as Keras-ordered weights [W₁, b₁, …, W_out, b_out].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTIVATIONS = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}
CLIP = 1e-7  # probabilities are clipped to [1e-7, 1 − 1e-7] before the log, as Keras does


@dataclass
class Setup:
    protocol: str          # periodic-averaging | serial | no-sync
    loss: str              # crossentropy (softmax output) | squared (linear output, targets ±1)
    activation: str        # of the hidden layers
    learning_rate: float   # η
    sync_period: int       # b: local steps between averagings
    rounds: int
    level: float           # ε
    schedule: str          # init | sync | step
    decay: str             # none | inverse | anneal
    gamma: float = 0.55


def noise_level(s: Setup, k: int) -> float:
    """εₖ: the level at counter k (k = 0: initialization, undecayed)."""
    if s.decay == "none" or k == 0:
        return s.level
    if s.decay == "inverse":
        return s.level / k
    return s.level * (1.0 + k) ** (-s.gamma / 2.0)


def forward(w, x, activation):
    """Activations of every layer (input first) and the output pre-activation."""
    act = ACTIVATIONS[activation][0]
    hs, zs = [x], []
    n_layers = len(w) // 2
    for layer in range(n_layers):
        z = hs[-1] @ w[2 * layer] + w[2 * layer + 1]
        zs.append(z)
        if layer < n_layers - 1:
            hs.append(act(z))
    return hs, zs


def outputs(w, x, s: Setup):
    z = forward(w, x, s.activation)[1][-1]
    if s.loss == "squared":
        return z
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def per_example_loss(out, y, s: Setup):
    if s.loss == "squared":
        return 0.5 * (out[:, 0] - y) ** 2
    return -np.log(np.clip(out[np.arange(len(y)), y.astype(int)], CLIP, 1 - CLIP))


def batch_loss(out, y, s: Setup) -> float:
    pe = per_example_loss(out, y, s)
    return float(pe.sum() if s.loss == "squared" else pe.mean())


def gradient(w, x, y, s: Setup):
    """∇ of the batch loss by backpropagation."""
    hs, zs = forward(w, x, s.activation)
    if s.loss == "squared":
        dz = (zs[-1][:, 0] - y)[:, None]                     # d/dz Σ ½(z − y)²
    else:
        p = outputs(w, x, s)
        dz = (p - np.eye(p.shape[1])[y.astype(int)]) / len(y)  # d/dz mean −log softmax(z)[y]
    d_act = ACTIVATIONS[s.activation][1]
    grads = [None] * len(w)
    for layer in reversed(range(len(w) // 2)):
        grads[2 * layer] = hs[layer].T @ dz
        grads[2 * layer + 1] = dz.sum(0)
        if layer:
            dh = dz @ w[2 * layer].T
            dz = dh * d_act(zs[layer - 1], hs[layer])
    return grads


def evaluate(w, x, y, s: Setup) -> tuple[float, float]:
    """(mean per-example loss, accuracy) on a test set."""
    out = outputs(w, x, s)
    loss = float(per_example_loss(out, y, s).mean())
    pred = out[:, 0] > 0 if s.loss == "squared" else out.argmax(-1)
    truth = y > 0 if s.loss == "squared" else y
    return loss, float(np.mean(pred == truth))


def run(s: Setup, w0, x, y, order, sync_draws, step_draws, x_test, y_test) -> list[dict]:
    """Train m learners (m = x.shape[0]; 1 for serial) from the common initial model w0.

    x [m, n, ...], y [m, n]: each learner's examples; order [m, steps, B]: the indices it observes at
    global step g (row g − 1). sync_draws(t) / step_draws(g) -> per learner, a list of unit draws ψ
    shaped like the weights: the noise drawn at the start of round t / before global step g.
    Returns one record per round: every learner's weights, the evaluated models, losses, test metrics."""
    m, b = x.shape[0], s.sync_period
    f = [[np.array(t, np.float64) for t in w0] for _ in range(m)]
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x_test, y_test = np.asarray(x_test, np.float64), np.asarray(y_test, np.float64)
    cum = np.zeros(m)
    history = []
    for t in range(1, s.rounds + 1):
        k = t - 1  # averagings (round boundaries) so far: round t starts right after the k-th
        if s.schedule == "sync" or (s.schedule == "init" and k == 0):
            eps = noise_level(s, k)
            psi = sync_draws(t)
            f = [[w + eps * np.asarray(z, np.float64) for w, z in zip(f[i], psi[i])] for i in range(m)]
        step_losses = np.zeros(m)
        for step in range(1, b + 1):
            g = (t - 1) * b + step
            psi = step_draws(g) if s.schedule == "step" else None
            for i in range(m):
                idx = order[i, g - 1]
                xb, yb = x[i, idx], y[i, idx]
                w = f[i]
                if psi is not None:
                    w = [v + noise_level(s, g) * np.asarray(z, np.float64) for v, z in zip(w, psi[i])]
                out = outputs(w, xb, s)
                step_losses[i] += per_example_loss(out, yb, s).mean()
                cum[i] += batch_loss(out, yb, s)
                f[i] = [v - s.learning_rate * gr for v, gr in zip(w, gradient(w, xb, yb, s))]
        if s.protocol == "periodic-averaging":  # t·b mod b = 0: every round ends with an averaging
            avg = [np.mean([f[i][j] for i in range(m)], axis=0) for j in range(len(w0))]
            f = [[a.copy() for a in avg] for _ in range(m)]
            evaluated = [avg]
        else:
            evaluated = f
        tests = [evaluate(w, x_test, y_test, s) for w in evaluated]
        history.append({"round": t, "learners": [[a.copy() for a in fi] for fi in f],
                        "evaluated": [[a.copy() for a in w] for w in evaluated],
                        "train_loss": float(step_losses.mean() / b),
                        "cumulative_train_loss": float(cum.mean()), "cumulative_train_loss_sum": float(cum.sum()),
                        "test_loss": [lo for lo, _ in tests], "test_accuracy": [ac for _, ac in tests]})
    return history
