"""A grid or case over [execution] would make settings that differ only where they run: one setting id,
so all but one would be dropped unseen. It is refused by name instead."""
import pytest

from tffnoise.config.sweep import expand
from tffnoise.errors import ConfigError

BASE = {"data": {"clients": 2, "examples_per_client": 20}, "training": {"rounds": 1}}


def test_a_grid_over_execution_is_refused_by_name():
    with pytest.raises(ConfigError) as err:
        expand({**BASE, "sweep": {"grid": {"execution.threads": [1, 2]}}})
    assert "sweep.execution.threads" in str(err.value)


def test_equal_settings_from_two_cases_still_collapse_into_one():
    specs = expand({**BASE, "sweep": {"cases": [{"training.learning_rate": 0.1}, {"training.learning_rate": 0.1}]}})
    assert len(specs) == 1


def test_execution_beside_a_real_difference_is_two_settings():
    specs = expand({**BASE, "sweep": {"cases": [{"training.learning_rate": 0.1, "execution.threads": 1},
                                                 {"training.learning_rate": 0.2, "execution.threads": 2}]}})
    assert len(specs) == 2
