import subprocess
import sys
from pathlib import Path

import pytest

from tffnoise.config import expand, load_config, load_dict, to_toml
from tffnoise.config.validate import config_from_dict
from tffnoise.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_overrides():
    cfg = load_config(None, ["noise.weights.level=0.5", "data.clients=3", 'engine="tff"', "model.hidden=[8, 4]"])
    assert cfg.noise["weights"].level == 0.5 and cfg.noise["weights"].schedule == "sync"
    assert cfg.data.clients == 3 and cfg.engine == "tff" and cfg.model.hidden == [8, 4]


def test_flat_noise_shorthand_uses_mechanism_defaults():
    cfg = load_config(None, ["noise.mechanism=hidden", "noise.level=0.3"])
    assert cfg.noise["hidden"].level == 0.3
    assert cfg.noise["hidden"].schedule == "step" and cfg.noise["hidden"].distribution == "gaussian"


@pytest.mark.parametrize("override, field, fragment", [
    ("data.clients=0", "data.clients", "≥ 1"),
    ("noise.weights.level=-1", "noise.weights.level", "≥ 0"),
    ("data.clientz=3", "data.clientz", "allows source"),
    ("noise.foo.level=1", "noise.foo", "weights, input, hidden, gradient, label"),
    ("training.learning_rate=nan", "training.learning_rate", "finite"),
    ("engine=gpu", "engine", "stacked, tff"),
    ("noise.weights.distribution=cauchy", "noise.weights.distribution", "uniform, gaussian"),
    ("training.batch_size=2.5", "training.batch_size", "integer"),
    ("data.synthetic=1", "data.synthetic", "true or false"),
    ("noise.label.level=1.5", "noise.label.level", "between 0 and 1"),
    ("data.source=imagenet", "data.source", "digits"),
])
def test_invalid_values_name_field_value_and_allowed(override, field, fragment):
    with pytest.raises(ConfigError) as exc:
        load_config(None, [override])
    msg = str(exc.value)
    assert msg.startswith(field + ":") and fragment in msg and "\n" not in msg


def test_toml_round_trip():
    cfg = load_config(None, ["noise.weights.level=0.5", "sweep.grid={\"noise.weights.level\" = [0, 1]}"])
    again = config_from_dict(__import__("tomllib").loads(to_toml(cfg)))
    assert again.to_dict() == cfg.to_dict()


def test_sweep_expands_cases_grid_repeats_with_stable_ids():
    base = load_dict(None, [
        "experiment.repeats=3",
        'sweep.grid={"noise.weights.level" = [0.0, 0.5], "noise.weights.distribution" = ["uniform", "gaussian"]}',
        'sweep.cases=[{"training.protocol" = "serial", "training.learning_rate" = 0.1}, {"training.protocol" = "periodic-averaging"}]',
    ])
    runs = expand(base)
    # level 0 is the clean run whatever the distribution: it runs once per case
    assert len(runs) == 2 * (1 + 2) * 3
    assert len({r.run_id for r in runs}) == len(runs)
    assert [r.run_id for r in expand(base)] == [r.run_id for r in runs]
    serial = [r for r in runs if r.config.training.protocol == "serial"]
    assert all(r.config.training.learning_rate == 0.1 for r in serial)


def test_sweep_value_error_names_the_field():
    with pytest.raises(ConfigError, match=r"^noise.weights.level: -1"):
        expand(load_dict(None, ['sweep.grid={"noise.weights.level" = [0, -1]}']))


def test_presets(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('[training]\nrounds = 10\n[presets.smoke]\n"training.rounds" = 2\n')
    assert load_config(f, preset="smoke").training.rounds == 2
    assert load_config(f).training.rounds == 10
    with pytest.raises(ConfigError, match="--preset"):
        load_config(f, preset="paper")


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(UserError, match="no such config file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_config(bad)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tffnoise", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_validate_good_and_bad(tmp_path):
    ok = _cli("validate", str(ROOT / "recipes" / "quickstart.toml"))
    assert ok.returncode == 0 and ok.stdout.startswith("ok:")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data]\nclients = 0\n")
    res = _cli("validate", str(bad))
    assert res.returncode == 2
    assert res.stderr.strip() == "error: data.clients: 0 is not allowed; expected an integer ≥ 1"
    assert "Traceback" not in res.stderr
    res = _cli("run", str(bad), "--out", str(tmp_path / "store"))
    assert res.returncode == 2 and not (tmp_path / "store").exists()


def test_cli_help_is_light():
    res = subprocess.run([sys.executable, "-c", "import sys; from tffnoise.cli import build_parser; build_parser();"
                          "print(any(m.startswith('tensorflow') for m in sys.modules))"], capture_output=True, text=True)
    assert res.stdout.strip() == "False", res.stderr
