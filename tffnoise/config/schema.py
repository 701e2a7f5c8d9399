"""The experiment config: one typed tree that the CLI, the recipes and the TUI all build and run.

Every field carries its allowed values in `meta` so that validation, the TUI's form and the docs read the
same source. A field that the rest of the config makes meaningless (a fedavg server setting under another
protocol, a privacy field with mode none, ...) must stay at its default: unused.py refuses it by name. Plain dataclasses (not pydantic): TFF pins typing-extensions 4.5, which pydantic 2 refuses.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tffnoise.engines import ENGINES, describe as _describe_engines

PROTOCOLS = ("periodic-averaging", "serial", "no-sync", "fedavg")
PRIVACY_MODES = ("none", "dp-sgd", "dp-fedavg")
DISTRIBUTIONS = ("uniform", "gaussian", "gaussian-matched", "laplace")
SCHEDULES = ("init", "sync", "step")
DECAYS = ("none", "inverse", "anneal")
LOSSES = ("auto", "crossentropy", "squared", "mse")
TARGETS = ("labels", "pm1")
PARTITIONS = ("iid", "dirichlet", "shards")
DATA_SOURCES = ("digits", "mnist", "fashion-mnist", "cifar10", "susy")
BATCH_NORMS = ("shared", "local")
NOSYNC_EVALS = ("picked", "every-learner")
ARCHITECTURES = ("mlp", "linear", "cnn-small", "cnn-medium", "cnn-large")
ACTIVATIONS = ("sigmoid", "relu", "tanh", "linear")
OUTPUTS = ("softmax", "linear")
ACCOUNTANTS = ("rdp", "pld")
BACKENDS = ("local", "ray")


def spec(default, *, doc: str, choices=None, min=None, max=None, min_exclusive=False, factory=None,
         plugin=False):
    """A field with its documentation and allowed values (`plugin`: or a 'package.module:function')."""
    meta = {"doc": doc, "choices": choices, "min": min, "max": max, "min_exclusive": min_exclusive, "plugin": plugin}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Experiment:
    name: str = spec("experiment", doc="Name shown in reports and the run store.")
    seed: int = spec(0, doc="Experiment seed; every random draw derives from (seed, repeat, client, layer, round).", min=0)
    repeats: int = spec(1, doc="Independent repeats per setting; they differ by seed only.", min=1)


@dataclass
class Data:
    source: str = spec("digits", doc="Dataset, or a plug-in 'package.module:function'.", choices=DATA_SOURCES,
                       plugin=True)
    path: str = spec("", doc="File or folder holding the dataset ('' = the standard places; not for digits, synthetic or plug-in data).")
    synthetic: bool = spec(False, doc="Use the synthetic stand-in (susy, cifar10, mnist); outputs say SYNTHETIC. Not for plug-in data.")
    clients: int = spec(10, doc="Number of learners m.", min=1)
    examples_per_client: int = spec(0, doc="Training examples per learner (0 = split the training set equally).", min=0)
    test_examples: int = spec(0, doc="Held-out test examples (0 = the whole test set).", min=0)
    partition: str = spec("iid", doc="How the training set is split across learners.", choices=PARTITIONS)
    alpha: float = spec(0.5, doc="Dirichlet concentration for partition = 'dirichlet'.", min=0.0, min_exclusive=True)
    shards_per_client: int = spec(2, doc="Label shards per learner for partition = 'shards'.", min=1)
    standardize: bool = spec(False, doc="Standardize features with the training set's mean and spread.")
    targets: str = spec("labels", doc="'labels' (classes) or 'pm1' (±1 regression targets, binary data only).", choices=TARGETS)
    validation_fraction: float = spec(0.0, doc="Fraction of each learner's data held out for validation.", min=0.0, max=0.9)


@dataclass
class Model:
    architecture: str = spec("mlp", doc="Model family, or a plug-in via model.builder.", choices=ARCHITECTURES)
    hidden: list = spec(None, doc="Hidden layer widths (mlp; 'linear' takes [] or the default).", factory=lambda: [32, 64])
    activation: str = spec("sigmoid", doc="Hidden activation (mlp only).", choices=ACTIVATIONS)
    output: str = spec("softmax", doc="Output layer: softmax over classes or one linear unit.", choices=OUTPUTS)
    dropout: float = spec(0.0, doc="Dropout rate after each hidden layer (mlp, CNNs; keyed, the same masks in both engines).", min=0.0, max=0.95)
    mixed_precision: bool = spec(False, doc="Compute in float16 with float32 weights, batch-norm statistics and loss (GPUs with tensor cores). No loss scaling.")
    batch_norm: str = spec("shared", doc="CNNs' batch norm at averaging: 'shared' (averaged with every other weight) or 'local' "
                                       "(FedBN: each learner keeps its own; engine 'stacked', periodic-averaging or fedavg).",
                           choices=BATCH_NORMS)
    width: float = spec(1.0, doc="Width multiplier for the CNNs (1 = the paper's sizes; smaller for smoke runs).", min=0.0, min_exclusive=True)
    builder: str = spec("", doc="Plug-in model builder 'package.module:function' ('' = built-in); the other model fields "
                               "except output stay at their defaults (the builder sets them).")


@dataclass
class Training:
    protocol: str = spec("periodic-averaging", doc="Training protocol.", choices=PROTOCOLS)
    batch_size: int = spec(10, doc="Mini-batch size B.", min=1)
    learning_rate: float = spec(0.25, doc="Local SGD learning rate η.", min=0.0, min_exclusive=True)
    sync_period: int = spec(10, doc="Local steps per round: between synchronizations (Algorithm 1's b); serial and no-sync count rounds with it.", min=1)
    rounds: int = spec(0, doc="Synchronization rounds (0 = derive from epochs).", min=0)
    epochs: float = spec(1.0, doc="Passes over each learner's data when rounds = 0 (with rounds set, leave the default).", min=0.0, min_exclusive=True)
    loss: str = spec("auto", doc="'auto' (crossentropy for softmax, squared for linear), 'squared' (Σ½(f−y)², paper 1), 'mse'.", choices=LOSSES)
    server_learning_rate: float = spec(1.0, doc="FedAvg server learning rate (protocol fedavg only).", min=0.0, min_exclusive=True)
    server_momentum: float = spec(0.0, doc="FedAvg server momentum (protocol fedavg only).", min=0.0, max=0.999)
    clients_per_round: int = spec(0, doc="Learners sampled per round for fedavg (0 = all).", min=0)
    eval_every: int = spec(1, doc="Evaluate the test set every this many rounds (the last round always).", min=1)
    nosync_eval: str = spec("picked", doc="No-sync: evaluate each repeat's picked learner ('picked', paper 1's metric) or "
                                        "every learner ('every-learner': adds the *_mean_learner metrics, M× the evaluation).",
                            choices=NOSYNC_EVALS)
    divergence_factor: float = spec(100.0, doc="A run has diverged when its training loss stays above this many times its first-round value for divergence_rounds rounds in a row (0 = only non-finite values count).", min=0.0)
    divergence_rounds: int = spec(3, doc="Consecutive rounds above divergence_factor × the first-round training loss that mark a run diverged.", min=1)


@dataclass
class NoiseSpec:
    distribution: str = spec("uniform", doc="Zero-mean distribution (label noise: ±1 targets only; flips draw none).", choices=DISTRIBUTIONS)
    level: float = spec(0.0, doc="Noise level ε (uniform width, Gaussian/Laplace std, label flip probability).", min=0.0)
    schedule: str = spec("sync", doc="When weight/gradient noise is added: init, every sync, every step (default per mechanism).", choices=SCHEDULES)
    decay: str = spec("inverse", doc="'none', 'inverse' (ε/k after the k-th sync, ε/g at step g), 'anneal' (ε/(1+k)^(γ/2)); default per mechanism.", choices=DECAYS)
    gamma: float = spec(0.55, doc="Annealing exponent γ (decay = 'anneal' only).", min=0.0)


@dataclass
class Privacy:
    mode: str = spec("none", doc="'dp-sgd' (per-example clipping + noise in every local step) or 'dp-fedavg' (client-level clipping + noise at aggregation); composes with the protocol.", choices=PRIVACY_MODES)
    noise_multiplier: float = spec(1.0, doc="DP noise multiplier (σ / clipping norm); leave the default with target_epsilon.", min=0.0)
    l2_norm_clip: float = spec(1.0, doc="Clipping norm: per example (dp-sgd) or per client update (dp-fedavg).", min=0.0, min_exclusive=True)
    microbatches: int = spec(0, doc="DP-SGD microbatches (0 = one per example; dp-sgd only).", min=0)
    delta: float = spec(1e-5, doc="δ for the reported ε.", min=0.0, max=1.0, min_exclusive=True)
    target_epsilon: float = spec(0.0, doc="If > 0, choose the noise multiplier that reaches this ε.", min=0.0)
    accountant: str = spec("rdp", doc="Privacy accountant.", choices=ACCOUNTANTS)
    membership_inference: bool = spec(True, doc="Run the membership-inference attacks after training.")
    attacks: list = spec(None, doc="Membership-inference attacks: 'loss', 'trained' (the default pair), 'lira', 'rmia' (these two train reference models; engine = 'stacked').", factory=lambda: ["loss", "trained"])
    reference_models: int = spec(16, doc="Reference models for 'lira' / 'rmia', trained as one stacked cell on random halves of the population.", min=1)
    audit: bool = spec(False, doc="One-run DP audit (Steinke et al. 2023): insert canaries, report an ε lower bound beside the accountant's ε.")
    audit_canaries: int = spec(1000, doc="Canaries of the one-run audit, each included by a seeded fair coin (privacy.audit only).", min=2)


@dataclass
class Execution:
    workers: list = spec(None, doc="TFF worker services 'host:port' for engine = 'tff' ([] = local).", factory=list)
    connect_timeout_s: float = spec(10.0, doc="Seconds to wait for each worker at start (with workers).", min=0.0, min_exclusive=True)
    call_timeout_s: float = spec(600.0, doc="Seconds one round may take on the workers (with workers).", min=0.0, min_exclusive=True)
    threads: int = spec(0, doc="Stacked engine on CPU: run a cell's repeats as this many equal groups in parallel threads "
                               "(0 = one per usable CPU core, a container's CPU quota included; 1 = one group).", min=0)
    backend: str = spec("local", doc="Where a sweep's cells run: 'local' (this process) or 'ray' (one Ray task per cell; "
                                     "docs/distributed.md).", choices=BACKENDS)
    address: str = spec("", doc="Ray cluster to join with backend = 'ray' ('auto', 'host:port' or 'ray://host:port'; "
                                "'' = start a local Ray instance on 127.0.0.1).")
    num_gpus: float = spec(-1.0, doc="GPUs each cell's Ray task asks for (-1 = 1 where the cluster has GPUs and the "
                                     "engine is 'stacked', else 0; a fraction shares a GPU).", min=-1.0)
    max_retries: int = spec(3, doc="Times a cell whose Ray task is lost with its node or worker is resubmitted, from its "
                                   "runs' last checkpoints, before its runs are marked failed.", min=0)


@dataclass
class Sweep:
    grid: dict = spec(None, doc="Dotted key -> list of values; the runs are their product.", factory=dict)
    cases: list = spec(None, doc="List of override tables, each crossed with the grid.", factory=list)


@dataclass
class Config:
    engine: str = spec("stacked", doc=_describe_engines(), choices=ENGINES)  # the live table: tffnoise/engines.py
    out: str = spec("runs", doc="Run store directory.")
    experiment: Experiment = field(default_factory=Experiment)
    data: Data = field(default_factory=Data)
    model: Model = field(default_factory=Model)
    training: Training = field(default_factory=Training)
    noise: dict = field(default_factory=dict)  # mechanism name (tffnoise.noise.registry) -> NoiseSpec
    privacy: Privacy = field(default_factory=Privacy)
    execution: Execution = field(default_factory=Execution)
    sweep: Sweep = field(default_factory=Sweep)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["noise"] = {k: dataclasses.asdict(v) for k, v in self.noise.items()}
        return out


SECTIONS = {
    "experiment": Experiment, "data": Data, "model": Model, "training": Training,
    "privacy": Privacy, "execution": Execution, "sweep": Sweep,
}
