"""Plug-in model builders for the tests (`model.builder = "tests.algorithms.plugin_models:NAME"`)."""
import tensorflow as tf


def _init(seed):
    return tf.keras.initializers.GlorotUniform(seed)


def regularized(input_shape, num_classes, seed):
    """Every kind of weight regularizer the stacked engine maps: L2 kernel, L1 bias, L1L2 kernel."""
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.Dense(8, activation="tanh", kernel_initializer=_init(seed),
                              kernel_regularizer=tf.keras.regularizers.L2(0.05),
                              bias_regularizer=tf.keras.regularizers.L1(0.02), bias_initializer="ones"),
        tf.keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed + 1),
                              kernel_regularizer=tf.keras.regularizers.L1L2(0.01, 0.03)),
    ])


def activity(input_shape, num_classes, seed):
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.Dense(8, activation="tanh", kernel_initializer=_init(seed), activity_regularizer="l2"),
        tf.keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed + 1)),
    ])


def keras_dropout(input_shape, num_classes, seed):
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.Dense(8, activation="tanh", kernel_initializer=_init(seed)),
        tf.keras.layers.Dropout(0.2, name="plain_dropout"),
        tf.keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed + 1)),
    ])


def keras_gaussian_noise(input_shape, num_classes, seed):
    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.GaussianNoise(0.1),
        tf.keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed)),
    ])


def seeded_dropout(input_shape, num_classes, seed):
    from tffnoise.noise.layers import SeededDropout

    return tf.keras.Sequential([
        tf.keras.Input(shape=input_shape),
        tf.keras.layers.Dense(8, activation="tanh", kernel_initializer=_init(seed)),
        SeededDropout(0.2, seed=1),
        tf.keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed + 1)),
    ])
