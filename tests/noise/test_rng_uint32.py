"""The TF hash runs in uint32 (products wrap mod 2**32), the NumPy hash in int64 with masks: the draws
every stored result derives from must be the same integers both ways, in the graph runtime and under
XLA, for keys and counters outside [0, 2**32) too (negative int64 keys, offsets past 2**32), which
both reduce to their low 32 bits. Deliberate errors tried: a shift of 9 → 8 in `uniform01`, an
offset's bits above 2**32 leaking into the counter, and a multiplier off by one bit in the uint32
mixer; each fails here."""
import numpy as np
import pytest
import tensorflow as tf

from tffnoise.noise import rng

KEYS = np.array([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**32 + 5, -1, -(2**40) - 3, 123456789], np.int64)


def _np_bits(keys, n, offset):
    idx = np.arange(offset, offset + n, dtype=np.int64)
    return rng.fold_np(keys[:, None], idx[None, :])


@pytest.mark.parametrize("xla", [False, True])
@pytest.mark.parametrize("offset", [0, 7, 2**32 - 3, 2**33 + 11])
def test_tf_bits_and_uniforms_equal_the_numpy_hash(xla, offset):
    n = 257
    want = _np_bits(KEYS, n, offset)
    bits = tf.function(lambda k: rng.bits(k, n, offset), jit_compile=xla, autograph=False)
    uni = tf.function(lambda k: rng.uniform01(k, n, offset), jit_compile=xla, autograph=False)
    got = bits(tf.constant(KEYS)).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(uni(tf.constant(KEYS)).numpy(),
                                  ((want >> 9).astype(np.float32) * 2.0 + 1.0) * np.float32(2.0 ** -24))


@pytest.mark.parametrize("xla", [False, True])
def test_fold_all_equals_the_numpy_chain(xla):
    vals = (3, 2**32 + 9, -4, 77)
    fn = tf.function(lambda k: rng.fold_all(k, *vals), jit_compile=xla, autograph=False)
    want = KEYS
    for v in vals:
        want = rng.fold_np(want, v)
    got = fn(tf.constant(KEYS)).numpy()
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)
