"""`tffnoise privacy`, driven through an argparse parser built the way the CLI builds it."""
import argparse
import json
import subprocess
import sys

import pytest

from tffnoise.privacy import command

# scipy (under dp-accounting) still calls np.find_common_type, deprecated in numpy 1.25.
pytestmark = pytest.mark.filterwarnings("ignore:np.find_common_type is deprecated:DeprecationWarning")

REF = ["--noise-multiplier", "1.1", "--batch-size", "256", "--examples", "60000", "--epochs", "60"]


def run(argv, capsys):
    parser = argparse.ArgumentParser(prog="tffnoise")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["privacy", *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_both_accountants_poisson(capsys):
    code, out, err = run([*REF, "--sampling", "poisson", "--accountant", "both"], capsys)
    assert (code, err) == (0, "")
    assert "14063 steps" in out and "batch 256 of 60000" in out and "sampling: poisson" in out
    assert "epsilon (rdp): 2.597" in out
    assert "epsilon (pld): 2.382" in out


def test_default_sampling_is_shuffle(capsys):
    code, out, _ = run(REF, capsys)
    assert code == 0
    assert "sampling: shuffle" in out and "at most 61 batches" in out
    assert "epsilon (rdp): 57.65" in out


def test_json(capsys):
    code, out, _ = run([*REF, "--sampling", "poisson", "--json", "--target-epsilon", "3"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["steps"] == 14063
    assert report["sample_rate"] == pytest.approx(256 / 60000)
    assert report["sampling"] == "poisson" and report["adjacency"] == "add-or-remove-one"
    assert report["epsilon"]["rdp"] == pytest.approx(2.597, abs=1e-3)
    assert report["noise_multiplier_for_target"]["rdp"] == pytest.approx(1.015, abs=2e-3)


def test_json_infinite_epsilon_is_null(capsys):
    code, out, _ = run(["--noise-multiplier", "0", "--sample-rate", "0.1", "--steps", "5", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["epsilon"] == {"rdp": None}


def test_target_epsilon_only(capsys):
    code, out, _ = run(["--sample-rate", "0.01", "--steps", "1000", "--sampling", "poisson",
                        "--target-epsilon", "2"], capsys)
    assert code == 0
    assert "noise multiplier for epsilon 2 (rdp):" in out
    assert "epsilon (rdp)" not in out


def test_steps_from_epochs_and_sample_rate(capsys):
    code, out, _ = run(["--noise-multiplier", "1", "--sample-rate", "0.1", "--epochs", "3", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert (report["steps"], report["participations"]) == (30, 3)


@pytest.mark.parametrize("argv,field", [
    (["--noise-multiplier", "1", "--sample-rate", "1.5", "--steps", "10"], "privacy.sample_rate"),
    (["--noise-multiplier", "-1", "--sample-rate", "0.1", "--steps", "10"], "privacy.noise_multiplier"),
    (["--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "10", "--delta", "0"], "privacy.delta"),
    (["--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "-3"], "privacy.steps"),
    (["--noise-multiplier", "1", "--sample-rate", "0.1"], "privacy.steps"),
    (["--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "1", "--epochs", "1"], "privacy.steps"),
    (["--noise-multiplier", "1", "--steps", "10"], "privacy.sample_rate"),
    (["--noise-multiplier", "1", "--batch-size", "10", "--steps", "10"], "privacy.sample_rate"),
    (["--noise-multiplier", "1", "--sample-rate", "0.1", "--batch-size", "1", "--examples", "10", "--steps", "1"],
     "privacy.sample_rate"),
    (["--noise-multiplier", "1", "--batch-size", "20", "--examples", "10", "--steps", "1"], "training.batch_size"),
    (["--sample-rate", "0.1", "--steps", "10"], "privacy.noise_multiplier"),
    (["--sample-rate", "0.1", "--steps", "10", "--target-epsilon", "0"], "privacy.target_epsilon"),
])
def test_bad_values_exit_2(argv, field, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and field in err
    assert err.count("\n") == 1


def test_unparsable_value_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        run(["--steps", "many"], capsys)
    assert exit_.value.code == 2


def test_import_is_light():
    # --help must not pay for dp-accounting, scikit-learn or TensorFlow.
    probe = ("import sys, tffnoise.privacy.command, tffnoise.privacy; "
             "print([m for m in ('dp_accounting', 'sklearn', 'tensorflow', 'scipy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
