"""Shared pieces of the speed benchmark (`benchmarks/run.py`): the configurations, timers, a peak-memory
sampler, and one runner per system (tffnoise stacked / TFF engine, stock TFF, Keras serial fit, sweep).

Every runner returns a dict with the same keys, so `run.py` can print one table and ratios:
  examples      training examples processed (learners × steps × batch, summed over repeats)
  e2e_s         end to end: data, problem setup, model/engine build, tracing, training, evaluation
  startup_s     all of e2e_s that is not steady training or evaluation: e2e_s - train_s - eval_s
  train_s       steady-state training time (rounds after the first)
  eval_s        test-set evaluation time
  peak_rss_mb   peak resident memory of the process while the runner ran (sampled every 10 ms)
  rss_delta_mb  that peak minus the resident memory right before it started
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager

import numpy as np

SUSY_HIDDEN = [32, 64]
MNIST_HIDDEN = [512, 512]
SUSY_DIMS = [18, *SUSY_HIDDEN, 2]        # layer widths, input to output (benchmarks/workmodel.py)
MNIST_DIMS = [784, *MNIST_HIDDEN, 10]


# --- memory ---------------------------------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """Samples the resident set size every 10 ms in a thread (ru_maxrss cannot be reset per section)."""

    def __init__(self, interval: float = 0.01):
        self.interval = interval
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb())


@contextmanager
def measured(result: dict):
    """Adds e2e_s, peak_rss_mb and rss_delta_mb to result."""
    t0 = time.perf_counter()
    with PeakRss() as mem:
        yield
    result["e2e_s"] = time.perf_counter() - t0
    result["peak_rss_mb"] = mem.peak
    result["rss_delta_mb"] = mem.peak - mem.start
    result.setdefault("eval_s", 0.0)
    result["startup_s"] = max(0.0, result["e2e_s"] - result.get("train_s", 0.0) - result["eval_s"])
    if "examples" in result:
        result["ex_per_s"] = result["examples"] / result["e2e_s"]
    if result.get("train_s"):
        result["steady_ex_per_s"] = result.get("steady_examples", result["examples"]) / result["train_s"]


# --- configurations -------------------------------------------------------------------------------
def susy_overrides(m: int, per_client: int, test: int, rounds: int, level: float = 0.5, hidden=SUSY_HIDDEN) -> list[str]:
    """Paper 1's SUSY setup: 18 inputs, sigmoid 32-64, 2-class softmax, B=10, b=10, uniform weight noise
    at every sync (decay 1/t). SYNTHETIC SUSY-like stand-in (tffnoise.data synthetic 'susy')."""
    return ['data.source="susy"', "data.synthetic=true", f"data.clients={m}", f"data.examples_per_client={per_client}",
            f"data.test_examples={test}", f"model.hidden={list(hidden)}", 'model.activation="sigmoid"',
            "training.batch_size=10", "training.sync_period=10", f"training.rounds={rounds}",
            "training.learning_rate=0.1", 'noise.weights.distribution="uniform"', f"noise.weights.level={level}",
            'noise.weights.schedule="sync"', "privacy.membership_inference=false"]


def mnist_overrides(m: int, per_client: int, test: int, rounds: int, level: float = 0.5) -> list[str]:
    """Paper 1's MNIST MLP: 784-512-512-10 ReLU, B=10, b=10, weight noise. SYNTHETIC MNIST-shaped stand-in."""
    return ['data.source="mnist"', "data.synthetic=true", f"data.clients={m}", f"data.examples_per_client={per_client}",
            f"data.test_examples={test}", f"model.hidden={MNIST_HIDDEN}", 'model.activation="relu"',
            "training.batch_size=10", "training.sync_period=10", f"training.rounds={rounds}",
            "training.learning_rate=0.05", 'noise.weights.distribution="uniform"', f"noise.weights.level={level}",
            'noise.weights.schedule="sync"', "privacy.membership_inference=false"]


def cnn_overrides(source: str, m: int, per_client: int, test: int, rounds: int, width: float) -> list[str]:
    """Paper 2's cnn-small at a width, fedavg, B = 32 as in the CIFAR recipe, one local epoch per round,
    hidden noise. SYNTHETIC stand-in shaped like the source (28×28×1 mnist, 32×32×3 cifar10)."""
    return [f'data.source="{source}"', "data.synthetic=true", f"data.clients={m}", f"data.examples_per_client={per_client}",
            f"data.test_examples={test}", 'model.architecture="cnn-small"', f"model.width={width}",
            "training.batch_size=32", f"training.sync_period={max(1, per_client // 32)}", f"training.rounds={rounds}",
            'training.protocol="fedavg"', "training.learning_rate=0.01", "noise.hidden.level=0.1",
            'noise.hidden.distribution="gaussian"', "privacy.membership_inference=false"]


def dataset(source: str, m: int, per_client: int, test: int, repeats: int = 1):
    """The synthetic stand-in, sized so every learner gets per_client examples."""
    from tffnoise.data import load_dataset
    return load_dataset(source, synthetic=True, train_limit=m * per_client, test_limit=test, seed=0)


# --- tffnoise engines -----------------------------------------------------------------------------
def run_engine(engine: str, source: str, overrides: list[str], m: int, per_client: int, test: int,
               repeats: int = 1) -> dict:
    """tffnoise end to end: load data, prepare, build the engine, train every round, evaluate at the end."""
    from tffnoise.config import load_config

    res: dict = {"system": f"tffnoise {engine}", "learners": m, "repeats": repeats}
    with measured(res):
        from tffnoise.algorithms.problem import prepare
        from tffnoise.runner.cell import make_engine

        cfg = load_config(None, overrides + [f"experiment.repeats={repeats}"])
        ds = dataset(source, m, per_client, test, repeats)
        problem = prepare(cfg, list(range(repeats)), ds)
        eng = make_engine(engine, problem)
        per_round = problem.examples_per_round * repeats
        t = time.perf_counter()
        eng.run_round()
        res["first_round_s"] = time.perf_counter() - t
        t = time.perf_counter()
        eng.run_rounds(problem.rounds - 1)  # as the runner calls it: up to the next evaluation at once
        res["train_s"] = time.perf_counter() - t
        res["steady_examples"] = per_round * (problem.rounds - 1)
        res["examples"] = per_round * problem.rounds
        res["rounds"] = problem.rounds
        t = time.perf_counter()
        ev = eng.evaluate("test")
        res["eval_s"] = time.perf_counter() - t
        res["test_accuracy"] = float(np.mean(ev["test_accuracy"]))
    return res


# --- stock TFF --------------------------------------------------------------------------------------
def _keras_model(input_dim, hidden, activation, classes):
    import tensorflow as tf

    inp = tf.keras.Input((input_dim,))
    h = inp
    for w in hidden:
        h = tf.keras.layers.Dense(w, activation=activation)(h)
    return tf.keras.Model(inp, tf.keras.layers.Dense(classes, activation="softmax")(h))


def cnn_model(width: float, input_shape, classes: int):
    """tffnoise's cnn-small at a width, without noise layers (stock TFF and Keras have no noise hook)."""
    from tffnoise.config.schema import Model
    from tffnoise.models.builders import build_model
    return build_model(Model(architecture="cnn-small", width=width), tuple(input_shape), classes)


def run_stock_tff(source: str, m: int, per_client: int, test: int, rounds: int, hidden, activation: str,
                  lr: float, B: int = 10, b: int = 10, cnn_width: float | None = None) -> dict:
    """tff.learning.algorithms.build_weighted_fed_avg (TFF 0.87) with from_keras_model and build_sgdm:
    each round every client runs b local steps of batch B (client_optimizer SGD), the server averages
    (server SGD lr 1 = plain averaging, as Algorithm 1). No noise: stock TFF has no weight-noise hook, so
    it does strictly less work than the tffnoise engines. Evaluated once at the end with Keras. With
    cnn_width: cnn-small at that width on the images (cnn_model), else the MLP on flat features."""
    res: dict = {"system": "stock TFF fed_avg", "learners": m, "repeats": 1}
    with measured(res):
        import tensorflow as tf
        import tensorflow_federated as tff

        from tffnoise.execution import install_local_context

        install_local_context()
        ds = dataset(source, m, per_client, test)
        flat = cnn_width is None
        x = (ds.x_train.reshape(len(ds.x_train), -1) if flat else ds.x_train).astype(np.float32)
        y = ds.y_train.astype(np.int32)
        xt = (ds.x_test.reshape(len(ds.x_test), -1) if flat else ds.x_test).astype(np.float32)
        classes, dim = ds.num_classes, x.shape[1]
        keras_model = (lambda: _keras_model(dim, hidden, activation, classes)) if flat else (
            lambda: cnn_model(cnn_width, x.shape[1:], classes))
        clients = [tf.data.Dataset.from_tensor_slices((x[i * per_client:(i + 1) * per_client],
                                                       y[i * per_client:(i + 1) * per_client]))
                   .shuffle(per_client, seed=i).repeat().batch(B, drop_remainder=True).take(b) for i in range(m)]
        spec = clients[0].element_spec

        def model_fn():
            return tff.learning.models.from_keras_model(
                keras_model(), loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                input_spec=spec, metrics=[tf.keras.metrics.SparseCategoricalAccuracy()])

        proc = tff.learning.algorithms.build_weighted_fed_avg(
            model_fn, client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=lr),
            server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0))
        state = proc.initialize()
        t = time.perf_counter()
        state = proc.next(state, clients).state
        res["first_round_s"], t = time.perf_counter() - t, time.perf_counter()
        for _ in range(rounds - 1):
            state = proc.next(state, clients).state
        res["train_s"] = time.perf_counter() - t
        res["steady_examples"] = m * b * B * (rounds - 1)
        res["examples"] = m * b * B * rounds
        res["rounds"] = rounds
        t = time.perf_counter()
        model = keras_model()
        proc.get_model_weights(state).assign_weights_to(model)
        acc = float(np.mean(np.argmax(model.predict(xt, batch_size=4096, verbose=0), -1) == ds.y_test))
        res["eval_s"] = time.perf_counter() - t
        res["test_accuracy"] = acc
    return res


# --- Keras serial -----------------------------------------------------------------------------------
def run_keras(source: str, n: int, test: int, batch: int, hidden, activation: str, lr: float,
              cnn_width: float | None = None) -> dict:
    """One Keras model, `fit` for one epoch over n examples at the given batch size, then evaluate.
    With cnn_width: tffnoise's cnn-small at that width on the images (no noise layers), else the MLP."""
    res: dict = {"system": f"Keras fit B={batch}", "learners": 1, "repeats": 1}
    with measured(res):
        import tensorflow as tf

        ds = dataset(source, 1, n, test)
        if cnn_width is None:
            x = ds.x_train.reshape(len(ds.x_train), -1).astype(np.float32)
            xt = ds.x_test.reshape(len(ds.x_test), -1).astype(np.float32)
            model = _keras_model(x.shape[1], hidden, activation, ds.num_classes)
        else:
            x, xt = ds.x_train.astype(np.float32), ds.x_test.astype(np.float32)
            model = cnn_model(cnn_width, x.shape[1:], ds.num_classes)
        model.compile(tf.keras.optimizers.SGD(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
        warm = min(len(x), batch * 2)
        t = time.perf_counter()
        model.fit(x[:warm], ds.y_train[:warm], batch_size=batch, epochs=1, verbose=0, shuffle=False)
        res["first_round_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model.fit(x, ds.y_train, batch_size=batch, epochs=1, verbose=0)
        res["train_s"] = time.perf_counter() - t
        res["steady_examples"] = len(x)
        res["examples"] = len(x) + warm
        t = time.perf_counter()
        _, acc = model.evaluate(xt, ds.y_test, batch_size=4096, verbose=0)
        res["eval_s"] = time.perf_counter() - t
        res["test_accuracy"] = float(acc)
    return res


# --- the real runner --------------------------------------------------------------------------------
def sweep_config(out: str, levels, distributions, clients, per_client: int, test: int, repeats: int,
                 epochs: float = 1.0, eval_every: int = 10) -> dict:
    """A paper-1 Fig. 4.3-sized sweep: distributions × levels × setups (PA with each m, serial) × repeats."""
    cases = [{"training.protocol": "periodic-averaging", "data.clients": m} for m in clients]
    cases.append({"training.protocol": "serial", "data.clients": clients[0]})
    return {
        "engine": "stacked", "out": out,
        "experiment": {"name": "bench-sweep", "seed": 0, "repeats": repeats},
        "data": {"source": "susy", "synthetic": True, "clients": clients[0], "examples_per_client": per_client,
                 "test_examples": test},
        "model": {"architecture": "mlp", "hidden": SUSY_HIDDEN, "activation": "sigmoid", "output": "softmax"},
        "training": {"protocol": "periodic-averaging", "batch_size": 10, "learning_rate": 0.1, "sync_period": 10,
                     "epochs": epochs, "eval_every": eval_every},
        "noise": {"weights": {"distribution": "uniform", "level": 0.5, "schedule": "sync", "decay": "inverse"}},
        "privacy": {"membership_inference": False},
        "sweep": {"grid": {"noise.weights.distribution": list(distributions), "noise.weights.level": list(levels)},
                  "cases": cases},
    }


def run_sweep_bench(levels, distributions, clients, per_client: int, test: int, repeats: int,
                    membership_inference: bool = False) -> dict:
    import tempfile

    from tffnoise.runner.sweep import run_sweep

    res: dict = {"system": "tffnoise sweep (runner)", "learners": max(clients), "repeats": repeats}
    rounds: list = []
    with tempfile.TemporaryDirectory() as d, measured(res):
        cfg = sweep_config(d, levels, distributions, clients, per_client, test, repeats)
        cfg["privacy"]["membership_inference"] = membership_inference
        cells: dict = {}

        def emit(e):
            if e["event"] == "cell_started":
                cells[tuple(e["runs"])] = time.perf_counter()
            elif e["event"] == "round" and e["round"] == 1:
                rounds.append(time.perf_counter() - cells[tuple(e["runs"])])
        out = run_sweep(cfg, emit)
        res["runs"] = out["runs"]
        res["status"] = out["status"]
        res["cells"] = len(cells)
    # serial: 1 learner with all m·n examples; PA: m learners with n each -> the same examples per setting
    settings = len(levels) * len(distributions) * (len(clients) + 1)
    ex = sum(m * per_client for m in clients) + clients[0] * per_client
    res["examples"] = ex * repeats * len(levels) * len(distributions)
    res["ex_per_s"] = res["examples"] / res["e2e_s"]
    res["settings"] = settings
    res["first_round_s_median"] = float(np.median(rounds)) if rounds else None
    res["first_round_s_sum"] = float(np.sum(rounds)) if rounds else None
    return res
