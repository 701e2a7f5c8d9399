"""TensorFlow's logging for tffnoise's commands, set in this one place before TensorFlow is imported."""
import logging
import os

#: TFFNOISE_TF_LOG_LEVEL (TensorFlow's 0-3: all, no INFO, no WARNING, no ERROR) -> the Python logger's level.
_PY_LEVELS = {"0": logging.INFO, "1": logging.WARNING, "2": logging.ERROR, "3": logging.ERROR}


def quiet_tensorflow() -> None:
    """Hide TensorFlow's start-up chatter and its Python warnings, which would bury the one-line errors and
    break the progress bar: the C++ logs (TF_CPP_MIN_LOG_LEVEL) and the `tensorflow` logger's deprecation
    notices (Keras' batch normalization calls `_colocate_with`) and tf.function retracing notices (the TFF
    engine's evaluation traces once per batch shape), each printed twice once a root handler exists.
    Errors still show.

    Set unconditionally: importing TFF in a parent process sets the variable to 1, and children inherit
    it. TFFNOISE_TF_LOG_LEVEL (0-3) brings the logs back for debugging."""
    level = os.environ.get("TFFNOISE_TF_LOG_LEVEL", "3")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = level
    logging.getLogger("tensorflow").setLevel(_PY_LEVELS.get(level, logging.ERROR))
