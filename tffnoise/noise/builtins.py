"""The five mechanisms of the papers, one registry entry each, with the checks that only they need.

Defaults say when and how each acts unless the config says otherwise (paper 1: weight noise at every
sync decayed as ε/k after the k-th sync; gradient noise annealed as in Neelakantan et al.; the rest on
every batch at a constant level). Streams keep their numbers (noise/streams.py) so results do not move.
TensorFlow-free: the classes are named, not imported.
"""
from __future__ import annotations

from tffnoise.errors import ConfigError
from tffnoise.noise.registry import MechanismInfo, register
from tffnoise.noise.streams import STREAMS

_PER_BATCH = {"distribution": "gaussian", "schedule": "step", "decay": "none"}


def every_batch(name: str, spec) -> None:
    """A mechanism that acts on every batch by construction: another schedule or a decay would mean nothing."""
    if spec.schedule != "step":
        raise ConfigError(f"noise.{name}.schedule", spec.schedule, "'step' (this mechanism acts on every batch)")
    if spec.decay != "none":
        raise ConfigError(f"noise.{name}.decay", spec.decay, "'none' (this mechanism has a constant level)")


def _gradient(name: str, spec) -> None:
    if spec.schedule != "step":
        raise ConfigError(f"noise.{name}.schedule", spec.schedule, "'step' (gradient noise acts at every update)")


def _hidden(name: str, spec, cfg=None) -> None:
    every_batch(name, spec)
    m = cfg.model if cfg is not None else None
    if m is None or m.builder or not (m.architecture == "linear" or (m.architecture == "mlp" and not m.hidden)):
        return
    from tffnoise.config.noise import require_default

    why = "model.architecture = 'linear'" if m.architecture == "linear" else "model.hidden = []"
    require_default(name, spec, ("level",), why + " has no hidden layer to put hidden noise after")


def _label(name: str, spec, cfg=None) -> None:
    if spec.level > 1.0:
        raise ConfigError(f"noise.{name}.level", spec.level, "a flip probability between 0 and 1")
    every_batch(name, spec)
    if cfg is not None and cfg.data.targets != "pm1":
        from tffnoise.config.noise import require_default

        require_default(name, spec, ("distribution",), "label noise flips class labels with probability level; "
                        "a distribution is drawn only for data.targets = 'pm1'")


register(MechanismInfo(
    "weights", "tffnoise.noise.weights:WeightNoise", frozenset({"round_start", "step_params"}), STREAMS["weights"],
    {"schedule": "sync", "decay": "inverse"},
    where="every learner's weights: at init (`schedule = \"init\"`), after every sync (`\"sync\"`: ε/k right after "
          "the k-th averaging, ε at init), or before every local step (`\"step\"`)",
    paper="paper 1 (Algorithm 1), paper 2 (weights)",
    doc="f ← f + εₜψ for every learner independently (paper 1: \"noisy learners\")."))
register(MechanismInfo(
    "input", "tffnoise.noise.input:InputNoise", frozenset({"layer"}), STREAMS["input"], dict(_PER_BATCH), every_batch,
    where="the model input, each training batch (a Keras `AdditiveNoise` layer)",
    paper="paper 2 (input)",
    doc="x + ε·ψ on the batch; inactive at inference."))
register(MechanismInfo(
    "hidden", "tffnoise.noise.hidden:HiddenNoise", frozenset({"layer"}), STREAMS["hidden"], dict(_PER_BATCH), _hidden,
    where="before every hidden block (noise → batch norm → conv for CNNs; after each hidden activation for "
          "MLPs), its own seed per layer",
    paper="paper 2 (hidden layers)",
    doc="h + ε·ψ on the activations; inactive at inference; needs a hidden layer."))
register(MechanismInfo(
    "gradient", "tffnoise.noise.gradients:GradientNoise", frozenset({"gradients"}), STREAMS["gradient"],
    {"distribution": "gaussian", "schedule": "step", "decay": "anneal"}, _gradient,
    where="gradients before each local SGD update, annealed ε/(1+t)^(γ/2) or constant",
    paper="paper 2 (gradients)",
    doc="g ← g + σₜψ (Neelakantan et al.'s annealed gradient noise by default)."))
register(MechanismInfo(
    "label", "tffnoise.noise.labels:LabelNoise", frozenset({"labels"}), STREAMS["label"],
    {"schedule": "step", "decay": "none"}, _label,
    where="training labels flip to another class with probability p = level (classification), or additive "
          "noise on ±1 targets",
    paper="paper 2 (labels)",
    doc="level ≤ 1 (a probability); the distribution is used only for data.targets = 'pm1'."))
