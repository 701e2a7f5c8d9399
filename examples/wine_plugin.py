"""An example plug-in: your own data and model in tffnoise.

Use it from the repository root:
    uv run tffnoise run examples/wine.toml                  # stacked engine
    uv run tffnoise run examples/wine.toml --engine tff     # TFF engine
"""
import numpy as np
import tensorflow as tf


def load_data(seed: int) -> dict:
    """Data contract: (seed) -> dict(x_train, y_train, x_test, y_test[, num_classes, name, train_ids, test_ids])."""
    from sklearn.datasets import load_wine

    x, y = load_wine(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    order = np.random.default_rng(0).permutation(len(x))  # a fixed split, the same for every seed
    test, train = order[:38], order[38:]
    return {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test], "num_classes": 3,
            "name": "wine (scikit-learn)", "train_ids": train, "test_ids": test}


def build_model(input_shape: tuple, num_classes: int, seed: int) -> tf.keras.Model:
    """Model contract: (input_shape, num_classes, seed) -> tf.keras.Model with softmax outputs over num_classes.
    Dense (L1/L2 weight regularizers included), Flatten, tffnoise's SeededDropout and noise layers run on
    both engines; other layers need engine = "tff"; Keras's own Dropout is refused (use SeededDropout)."""
    init = tf.keras.initializers.GlorotUniform(seed)
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.Dense(16, activation="tanh", kernel_initializer=init),
        tf.keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=init),
    ])


def build_conv_model(input_shape: tuple, num_classes: int, seed: int) -> tf.keras.Model:
    """A model the stacked engine cannot batch (Conv1D): it runs with engine = "tff"."""
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.Reshape(input_shape + (1,)),
        tf.keras.layers.Conv1D(4, 3, activation="relu"),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(num_classes, activation="softmax"),
    ])
