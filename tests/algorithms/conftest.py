import numpy as np
import pytest


def _assert_states_close(a: dict, b: dict, atol=1e-5):
    """Two engines' checkpoints hold the same keys, shapes and values (to atol / rtol 1e-5)."""
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].shape == b[k].shape, k
        np.testing.assert_allclose(a[k], b[k], atol=atol, rtol=1e-5, err_msg=k)


@pytest.fixture
def assert_states_close():
    return _assert_states_close
