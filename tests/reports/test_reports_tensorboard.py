import subprocess
import sys
import textwrap

import pytest

from tffnoise.reports.tensorboard import flatten_hparams, read_events, scalar_tag, write_run_events

HISTORY = [
    {"round": 1, "train_loss": 1.0, "train_accuracy": 0.5, "cumulative_train_loss": 1.0, "test_accuracy": None,
     "test_loss": None, "val_accuracy": 0.48, "val_loss": 1.1},
    {"round": 2, "train_loss": 0.5, "train_accuracy": 0.7, "cumulative_train_loss": 1.5, "test_accuracy": 0.69,
     "test_loss": 0.6, "val_accuracy": 0.68, "val_loss": 0.62},
]
HPARAMS = {"model": {"name": "cnn", "width": 32}, "noise": {"level": 0.3, "kind": None}, "layers": [1, 2]}


def test_tags_and_flatten():
    assert scalar_tag("train_loss") == "train/loss"
    assert scalar_tag("cumulative_train_loss") == "train/cumulative_loss"
    assert scalar_tag("val_accuracy") == "val/accuracy"
    assert flatten_hparams(HPARAMS) == {"model.name": "cnn", "model.width": 32, "noise.level": 0.3,
                                        "noise.kind": "None", "layers": "[1, 2]"}


def test_events_read_back(tmp_path):
    path = write_run_events(tmp_path / "run1", HISTORY, HPARAMS)
    assert path.name.startswith("events.out.tfevents.")
    events = read_events(path)  # checks the CRCs
    assert events[0].file_version == "brain.Event:2"
    scalars = {}
    for ev in events:
        for v in ev.summary.value:
            if v.WhichOneof("value") == "simple_value":
                scalars[(v.tag, ev.step)] = v.simple_value
    assert scalars[("train/loss", 1)] == pytest.approx(1.0)
    assert scalars[("train/cumulative_loss", 2)] == pytest.approx(1.5)
    assert scalars[("test/accuracy", 2)] == pytest.approx(0.69)
    assert ("test/accuracy", 1) not in scalars  # None is skipped, not written as 0
    plugins = {v.metadata.plugin_data.plugin_name for ev in events for v in ev.summary.value if v.HasField("metadata")}
    assert {"hparams", "text"} <= plugins
    assert not [p for p in (tmp_path / "run1").iterdir() if p.name.startswith(".tmp")]


def test_event_accumulator_reads_hparams_without_tf(tmp_path):
    write_run_events(tmp_path / "run1", HISTORY, HPARAMS)
    # TensorBoard's reader goes through tensorboard.compat.tf, which would import the real TensorFlow;
    # the `notf` marker module makes it use its stub. Run in a subprocess to keep this process clean.
    code = textwrap.dedent(f"""
        import sys, types
        sys.modules["tensorboard.compat.notf"] = types.ModuleType("tensorboard.compat.notf")
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.plugins.hparams import plugin_data_pb2
        acc = ea.EventAccumulator({str(tmp_path / "run1")!r}, size_guidance={{ea.TENSORS: 0, ea.SCALARS: 0}})
        acc.Reload()
        s = acc.Scalars("val/accuracy")
        assert [e.step for e in s] == [1, 2] and abs(s[1].value - 0.68) < 1e-6, s
        content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
        assert info.hparams["model.width"].number_value == 32 and info.hparams["model.name"].string_value == "cnn"
        assert "tensorflow" not in sys.modules
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")


def test_two_writes_do_not_collide(tmp_path):
    a = write_run_events(tmp_path, HISTORY, None)
    b = write_run_events(tmp_path, HISTORY, None)
    assert a != b and a.exists() and b.exists()
