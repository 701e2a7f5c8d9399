"""Item 2 of issue 18: every check runs before the first write; `validate --data` runs the same ones."""
import pytest

from tests.runner.conftest import QUICK, cli
from tffnoise.algorithms.problem import load_data
from tffnoise.config import config_from_dict
from tffnoise.config.validate import check_data_fit
from tffnoise.errors import ConfigError, UserError


def _fit(**data):
    training = data.pop("training", {})
    cfg = config_from_dict({"data": data, "training": training})
    check_data_fit(cfg, load_data(cfg))


def test_data_size_and_partition_errors_are_found_with_the_data():
    _fit(clients=10, examples_per_client=149)  # digits: 1497 training examples, 300 test examples
    with pytest.raises(UserError, match="data.examples_per_client: 150 x 10 clients"):
        _fit(clients=10, examples_per_client=150)
    with pytest.raises(ConfigError, match="data.clients: 1498 "):
        _fit(clients=1498)
    with pytest.raises(ConfigError, match="data.shards_per_client: 200 .* at most 149"):
        _fit(clients=10, partition="shards", shards_per_client=200)
    _fit(test_examples=300)
    with pytest.raises(ConfigError, match="data.test_examples: 301 .* at most 300"):
        _fit(test_examples=301)
    with pytest.raises(ConfigError, match="training.batch_size: 12 .* at most the examples per learner \\(11\\)"):
        _fit(clients=10, examples_per_client=11, training={"batch_size": 12})
    _fit(clients=10, examples_per_client=11, training={"batch_size": 12, "protocol": "serial"})  # 110 in serial
    with pytest.raises(ConfigError, match="training.epochs: 1000000000.0 .* 1400000000 rounds .* GiB"):
        _fit(training={"rounds": 0, "epochs": 1e9})


def test_a_path_for_a_source_that_reads_none_is_an_error_without_the_data(tmp_path):
    with pytest.raises(ConfigError, match="data.path: .* for source 'digits'"):
        config_from_dict({"data": {"path": str(tmp_path)}})
    with pytest.raises(ConfigError, match="data.path: .* data.synthetic is true"):
        config_from_dict({"data": {"source": "susy", "synthetic": True, "path": str(tmp_path)}})


def test_run_refuses_a_data_size_error_with_nothing_written(tmp_path):
    out = tmp_path / "store"
    res = cli("run", QUICK, "--out", str(out), "--set", "data.examples_per_client=150", "--preset", "smoke")
    assert res.returncode == 2 and res.stderr.startswith("error: data.examples_per_client: 150 x 10 clients")
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()
