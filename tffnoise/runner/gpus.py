"""GPU set-up for the runner: TensorFlow places the engines' ops on a visible GPU by itself; memory
growth keeps one run from reserving the whole card, so the TUI's NVML panel shows real use and
several runs can share a GPU."""
from __future__ import annotations


def configure_gpus() -> list[str]:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized in this process: the setting stays as it was
            pass
    return [g.name for g in gpus]
