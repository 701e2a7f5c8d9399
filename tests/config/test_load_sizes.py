"""Item 1 of issue 18: unreadable config files and absurd sizes are config errors, refused at once."""
import pytest

from tffnoise.config import config_from_dict, load_dict
from tffnoise.config.sweep import expand
from tffnoise.config.validate import MAX_RUNS
from tffnoise.errors import ConfigError, UserError


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", b'name = "caf\xe9"\n'], ids=["binary", "latin-1"])
def test_a_file_that_is_not_utf8_text_is_a_config_error(tmp_path, data):
    p = tmp_path / "x.toml"
    p.write_bytes(data)
    with pytest.raises(UserError, match=f"{p}: not a UTF-8 text file") as e:
        load_dict(p)
    assert len(str(e.value).splitlines()) == 1


def test_a_folder_or_unreadable_file_is_a_config_error(tmp_path):
    with pytest.raises(UserError, match="no such config file"):
        load_dict(tmp_path)


def test_repeats_beyond_the_run_bound_are_refused_before_specs_are_built():
    assert len(expand({"experiment": {"repeats": MAX_RUNS}})) == MAX_RUNS
    with pytest.raises(ConfigError, match=f"experiment.repeats: {MAX_RUNS + 1} .* at most {MAX_RUNS}"):
        expand({"experiment": {"repeats": MAX_RUNS + 1}})
    with pytest.raises(ConfigError, match="experiment.repeats: 1000000000 "):
        expand({"experiment": {"repeats": 1e9}})
    # the bound counts the whole sweep: two settings of MAX_RUNS / 2 and MAX_RUNS / 2 + 1 repeats
    half = MAX_RUNS // 2
    cases = [{"experiment.repeats": half, "training.learning_rate": 0.1},
             {"experiment.repeats": half + 1, "training.learning_rate": 0.2}]
    with pytest.raises(ConfigError, match=f"experiment.repeats: {half + 1} .* at least {MAX_RUNS + 1}"):
        expand({"sweep": {"cases": cases}})
    grid = {"training.learning_rate": [0.1 + i for i in range(400)], "training.batch_size": list(range(1, 401))}
    with pytest.raises(ConfigError, match="sweep: '160000 settings'"):  # refused without building 160000 configs
        expand({"sweep": {"grid": grid}})


def test_rounds_whose_batch_order_cannot_fit_in_memory_are_refused_with_the_prediction():
    with pytest.raises(ConfigError, match=r"training.rounds: 10000000000 .*1 repeats × 10 learners × 10000000000 rounds "
                                          r"× 10 steps × 10 examples × 8 bytes = .* GiB, more than half"):
        config_from_dict({"training": {"rounds": 1e10}})
    config_from_dict({"training": {"rounds": 10_000}})  # 80 MB: fine
    serial = config_from_dict({"training": {"rounds": 1_000_000, "protocol": "serial"}, "data": {"clients": 10_000}})
    assert serial.training.rounds == 1_000_000  # one learner in serial: 800 MB
