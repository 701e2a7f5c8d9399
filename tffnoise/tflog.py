"""TensorFlow's log level for tffnoise's commands."""
import os


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ start-up chatter, which would bury the one-line errors and the progress.

    Set unconditionally: importing TFF in a parent process sets the variable to 1, and children inherit
    it. TFFNOISE_TF_LOG_LEVEL (0-3) brings the logs back for debugging."""
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = os.environ.get("TFFNOISE_TF_LOG_LEVEL", "3")
