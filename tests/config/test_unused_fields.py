"""No setting is silently ignored: a value that the rest of the config makes meaningless is a config
error naming the field (and what makes it meaningless); the same field at its default stays valid, so
full configs written back by to_toml, the recipes and their sweeps keep validating."""
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tffnoise.config import expand, load_config, load_dict, to_toml
from tffnoise.config.validate import config_from_dict
from tffnoise.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

# (overrides, the field refused, a field or value the message must name as the reason)
REFUSED = [
    (["training.server_learning_rate=0.5"], "training.server_learning_rate", "training.protocol = 'fedavg'"),
    (["training.server_momentum=0.9", "training.protocol=serial"], "training.server_momentum", "'serial'"),
    (["training.rounds=5", "training.epochs=3"], "training.epochs", "training.rounds = 5"),
    (['training.nosync_eval="every-learner"'], "training.nosync_eval", "training.protocol = 'no-sync'"),
    (["data.alpha=0.1"], "data.alpha", "data.partition = 'dirichlet'"),
    (["data.shards_per_client=3", "data.partition=dirichlet"], "data.shards_per_client", "data.partition = 'shards'"),
    (['data.source="examples.wine_plugin:load_data"', "data.synthetic=true"], "data.synthetic", "plug-in data.source"),
    (['data.source="examples.wine_plugin:load_data"', f'data.path="{ROOT}"'], "data.path", "plug-in data.source"),
    (["data.path=/", "data.source=susy", "data.synthetic=true"], "data.path", "data.synthetic is true"),
    (["data.path=/"], "data.path", "'digits'"),
    (['model.builder="examples.wine_plugin:build_model"', "model.dropout=0.2"], "model.dropout", "model.builder"),
    (['model.builder="examples.wine_plugin:build_model"', "model.width=0.5"], "model.width", "model.builder"),
    (['model.builder="examples.wine_plugin:build_model"', "model.architecture=linear"], "model.architecture", "model.builder"),
    (['model.builder="examples.wine_plugin:build_model"', "model.hidden=[4]"], "model.hidden", "model.builder"),
    (['model.builder="examples.wine_plugin:build_model"', "model.activation=relu"], "model.activation", "model.builder"),
    (['model.builder="examples.wine_plugin:build_model"', "engine=tff", "model.mixed_precision=true"],
     "model.mixed_precision", "model.builder"),
    (["model.architecture=linear", "model.hidden=[8]"], "model.hidden", "'linear'"),
    (["model.architecture=linear", "model.dropout=0.1"], "model.dropout", "'linear'"),
    (["model.architecture=linear", "model.activation=relu"], "model.activation", "'linear'"),
    (["model.architecture=linear", "noise.hidden.level=0.3"], "noise.hidden.level", "'linear' has no hidden layer"),
    (["model.hidden=[]", "noise.hidden.level=0.3"], "noise.hidden.level", "model.hidden = [] has no hidden layer"),
    (["model.hidden=[]", "model.dropout=0.2"], "model.dropout", "model.hidden = []"),
    (["model.architecture=cnn-small", "model.hidden=[8]"], "model.hidden", "'cnn-small'"),
    (["model.architecture=cnn-small", "model.activation=tanh"], "model.activation", "'cnn-small'"),
    (["model.width=0.5"], "model.width", "CNN"),
    (["privacy.noise_multiplier=2.0"], "privacy.noise_multiplier", "privacy.mode = 'none'"),
    (["privacy.l2_norm_clip=0.5"], "privacy.l2_norm_clip", "privacy.mode = 'none'"),
    (["privacy.microbatches=2"], "privacy.microbatches", "privacy.mode = 'none'"),
    (["privacy.delta=1e-6"], "privacy.delta", "privacy.mode = 'none'"),
    (["privacy.target_epsilon=3.0"], "privacy.target_epsilon", "privacy.mode = 'none'"),
    (["privacy.accountant=pld"], "privacy.accountant", "privacy.mode = 'none'"),
    (["privacy.mode=dp-fedavg", "privacy.microbatches=2"], "privacy.microbatches", "'dp-sgd'"),
    (["privacy.mode=dp-sgd", "privacy.target_epsilon=3.0", "privacy.noise_multiplier=2.0"],
     "privacy.noise_multiplier", "privacy.target_epsilon"),
    (['execution.workers=["localhost:8000"]'], "execution.workers", "engine 'stacked'"),
    (["execution.connect_timeout_s=3"], "execution.connect_timeout_s", "execution.workers"),
    (["engine=tff", "execution.call_timeout_s=30"], "execution.call_timeout_s", "execution.workers"),
    (["engine=tff", "execution.threads=2"], "execution.threads", "engine = 'stacked'"),
    (["noise.weights.level=0.5", "noise.weights.gamma=0.7"], "noise.weights.gamma", "'inverse'"),
    (["noise.gradient.level=0.5", "noise.gradient.decay=none", "noise.gradient.gamma=0.7"], "noise.gradient.gamma", "'none'"),
    (["noise.hidden.level=0.5", "noise.hidden.gamma=0.7"], "noise.hidden.gamma", "decay = 'anneal'"),
    (["noise.weights.level=0.5", "noise.weights.schedule=init", "noise.weights.decay=anneal"], "noise.weights.decay",
     "schedule = 'init'"),
    (["noise.label.level=0.1", "noise.label.distribution=gaussian"], "noise.label.distribution", "data.targets = 'pm1'"),
    (["noise.mechanism=label", "noise.level=0.1", "noise.distribution=laplace"], "noise.label.distribution", "data.targets"),
]


@pytest.mark.parametrize("overrides, field, reason", REFUSED, ids=[r[1] + ":" + r[0][-1] for r in REFUSED])
def test_a_value_that_does_not_apply_is_an_error_naming_it(overrides, field, reason):
    with pytest.raises(ConfigError) as exc:
        load_config(None, overrides)
    msg = str(exc.value)
    assert exc.value.field == field and msg.startswith(field + ":"), msg
    assert reason in msg and "\n" not in msg


# The same fields where they apply (or at their defaults) are fine.
ACCEPTED = [
    ["training.protocol=fedavg", "training.server_learning_rate=0.5", "training.server_momentum=0.9"],
    ["training.rounds=0", "training.epochs=3"],
    ["training.rounds=5", "training.epochs=1.0"],
    ["training.protocol=no-sync", 'training.nosync_eval="every-learner"'],
    ["data.partition=dirichlet", "data.alpha=0.1"],
    ["data.partition=shards", "data.shards_per_client=3"],
    ['model.builder="examples.wine_plugin:build_model"', "model.architecture=mlp", "model.hidden=[32, 64]", "model.dropout=0"],
    ["model.architecture=linear", "model.hidden=[]"],
    ["model.architecture=linear"],
    ["model.architecture=linear", "noise.hidden.level=0.0", "noise.input.level=0.3"],
    ["model.architecture=cnn-small", "noise.hidden.level=0.3", "model.dropout=0.2"],
    ["model.architecture=cnn-small", "model.width=0.5"],
    ["model.hidden=[8]", "model.activation=relu", "model.dropout=0.3"],
    ["privacy.mode=dp-sgd", "privacy.microbatches=5", "privacy.delta=1e-6", "privacy.accountant=pld", "privacy.l2_norm_clip=0.5"],
    ["privacy.mode=dp-sgd", "privacy.target_epsilon=3.0", "privacy.noise_multiplier=1.0"],
    ["privacy.mode=dp-fedavg", "privacy.noise_multiplier=0.5"],
    ['engine=tff', 'execution.workers=["localhost:8000"]', "execution.connect_timeout_s=3", "execution.call_timeout_s=30"],
    ["execution.threads=2"],
    ["noise.weights.level=0.5", "noise.weights.decay=anneal", "noise.weights.gamma=0.7"],
    ["noise.gradient.level=0.5", "noise.gradient.gamma=0.7"],  # gradient noise anneals by default
    ["noise.label.level=0.1", "noise.label.distribution=uniform"],
    ['data.source="susy"', "data.synthetic=true", 'data.targets="pm1"', 'model.output="linear"',
     "noise.label.level=0.1", "noise.label.distribution=gaussian"],
]


@pytest.mark.parametrize("overrides", ACCEPTED)
def test_the_same_fields_where_they_apply_are_valid(overrides):
    load_config(None, overrides)


def test_a_full_config_written_back_with_every_default_stays_valid():
    for overrides in ([], ["noise.gradient.level=0.3", "noise.label.level=0.1", "noise.weights.level=0.5"],
                      ['model.builder="examples.wine_plugin:build_model"'], ["privacy.mode=dp-fedavg"]):
        cfg = load_config(None, overrides)
        again = config_from_dict(tomllib.loads(to_toml(cfg)))
        assert again.to_dict() == cfg.to_dict()


def _presets(path: Path):
    return [None] + list(tomllib.loads(path.read_text()).get("presets", {}))


@pytest.mark.parametrize("path", sorted((ROOT / "recipes").glob("*.toml")) + sorted((ROOT / "examples").glob("*.toml")),
                         ids=lambda p: p.name)
def test_recipes_and_examples_validate_and_expand_with_every_preset(path):
    for preset in _presets(path):
        runs = expand(load_dict(path, preset=preset))
        assert runs, (path, preset)


def test_a_sweep_cell_where_a_value_does_not_apply_names_it():
    # the base is fine (fedavg); the serial case would silently drop the server momentum
    base = load_dict(None, ["training.protocol=fedavg", "training.server_momentum=0.9",
                            'sweep.cases=[{"training.protocol" = "serial"}]'])
    with pytest.raises(ConfigError, match=r"^training.server_momentum: 0.9 .*'serial'"):
        expand(base)


@pytest.mark.parametrize("override", ['execution.workers=["localhost:8000"]', "training.server_momentum=0.5",
                                      # quickstart's model.hidden = [64] is not the plug-in's
                                      'model.builder="examples.wine_plugin:build_model"'])
def test_run_with_an_ignored_value_exits_2_on_one_line_and_writes_nothing(tmp_path, override):
    out = tmp_path / "store"
    res = subprocess.run([sys.executable, "-m", "tffnoise", "run", str(ROOT / "recipes" / "quickstart.toml"),
                          "--out", str(out), "--set", override, "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and override.split("=")[0].split(".")[-1] in lines[0]
    assert not out.exists()
