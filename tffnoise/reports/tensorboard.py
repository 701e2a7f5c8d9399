"""TensorBoard event files for one run, written without TensorFlow.

``tensorboard.summary.writer.event_file_writer.EventFileWriter`` opens its file through
``tensorboard.compat.tf.io.gfile``, which imports the real TensorFlow whenever it is installed (it is,
here). So this module frames the records itself with tensorboard's pure-Python ``RecordWriter``
(length + masked CRC32C framing) over a plain file, and builds the ``Event``/``Summary`` protos from
``tensorboard.compat.proto`` and the hparams/text plugin helpers (``*_pb`` functions, TF-free).

What is written (one ``events.out.tfevents.*`` file per call, in ``run_dir``):

* per round, every finite numeric history field (except ``round``) as a scalar, tag
  ``<split>/<metric>`` (``train/loss``, ``test/accuracy``, ``val/loss``, ``train/cumulative_loss``;
  other names keep their own name), step = the row's ``round``;
* hparams through the hparams plugin (experiment config + session start/end), the nested config
  flattened to dotted keys; values that are not bool/int/float/str are written as their ``repr``;
* the same hparams as a Markdown table under the text tag ``hparams``.
"""

from __future__ import annotations

import math
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import metadata as hp_metadata
from tensorboard.plugins.hparams import summary_v2 as hp_summary
from tensorboard.plugins.text import summary_v2 as text_summary
from tensorboard.summary.writer.record_writer import RecordWriter

_SPLITS = ("train", "test", "val")


def scalar_tag(name: str) -> str:
    """History field name → TensorBoard tag: ``train_loss`` → ``train/loss``,
    ``cumulative_train_loss`` → ``train/cumulative_loss``; anything else unchanged."""
    if name.startswith("cumulative_"):
        rest = name[len("cumulative_"):]
        for split in _SPLITS:
            if rest.startswith(split + "_"):
                return f"{split}/cumulative_{rest[len(split) + 1:]}"
        return name
    for split in _SPLITS:
        if name.startswith(split + "_"):
            return f"{split}/{name[len(split) + 1:]}"
    return name


def flatten_hparams(config: Mapping[str, Any] | None, prefix: str = "") -> dict[str, bool | int | float | str]:
    """Nested dict → ``{"a.b.c": value}`` with values TensorBoard accepts (bool/int/float/str)."""
    out: dict[str, bool | int | float | str] = {}
    for k, v in (config or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flatten_hparams(v, key + "."))
        elif isinstance(v, bool) or isinstance(v, str):
            out[key] = v
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = v if math.isfinite(float(v)) else str(v)
        elif v is None:
            out[key] = "None"
        else:
            out[key] = repr(v)
    return out


def _number(v) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _hparams_markdown(hparams: Mapping[str, Any]) -> str:
    lines = ["| hparam | value |", "|---|---|"]
    for k in sorted(hparams):
        lines.append(f"| {k} | {str(hparams[k]).replace('|', '/')} |")
    return "\n".join(lines)


def write_run_events(run_dir: str | os.PathLike, history: Iterable[Mapping[str, Any]],
                     hparams: Mapping[str, Any] | None = None, *, metrics: Iterable[str] | None = None) -> Path:
    """Write one TensorBoard event file into ``run_dir`` and return its path (see module doc).

    ``metrics`` names the hparams-plugin metric tags (default: the test/val/train accuracy and loss
    tags present in the history). The file is written under a temporary name in ``run_dir`` and
    renamed into place, so TensorBoard never sees a half-written file."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    history = list(history)
    flat = flatten_hparams(hparams)
    now = time.time()
    events: list[event_pb2.Event] = [event_pb2.Event(
        wall_time=now, file_version="brain.Event:2",
        source_metadata=event_pb2.SourceMetadata(writer="tffnoise.reports.tensorboard"))]

    tags_seen: list[str] = []
    for i, row in enumerate(history):
        step = int(row.get("round", i + 1) or 0)
        values = []
        for name, v in row.items():
            if name == "round":
                continue
            f = _number(v)
            if f is None:
                continue
            tag = scalar_tag(str(name))
            if tag not in tags_seen:
                tags_seen.append(tag)
            values.append(summary_pb2.Summary.Value(tag=tag, simple_value=f))
        if values:
            events.append(event_pb2.Event(wall_time=now, step=step, summary=summary_pb2.Summary(value=values)))

    if flat:
        metric_tags = list(metrics) if metrics is not None else [
            t for t in tags_seen if t in ("test/accuracy", "test/loss", "val/accuracy", "val/loss",
                                          "train/loss", "train/accuracy")]
        config_pb = hp_summary.hparams_config_pb(
            [hp_summary.HParam(k) for k in sorted(flat)], [hp_summary.Metric(t) for t in metric_tags],
            time_created_secs=now)
        events.append(event_pb2.Event(wall_time=now, step=0, summary=config_pb))
        events.append(event_pb2.Event(wall_time=now, step=0,
                                      summary=hp_summary.hparams_pb(flat, trial_id=run_dir.name, start_time_secs=now)))
        events.append(event_pb2.Event(wall_time=now, step=0,
                                      summary=text_summary.text_pb("hparams", _hparams_markdown(flat))))
        # session end marks the trial as finished in the hparams dashboard
        end = summary_pb2.Summary()
        end.value.add(tag=hp_metadata.SESSION_END_INFO_TAG, tensor=hp_metadata.NULL_TENSOR,
                      metadata=hp_metadata.create_summary_metadata(plugin_data_pb2.HParamsPluginData(
                          session_end_info=plugin_data_pb2.SessionEndInfo(
                              status=api_pb2.STATUS_SUCCESS, end_time_secs=now))))
        events.append(event_pb2.Event(wall_time=now, step=0, summary=end))

    name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tffnoise"
    final = run_dir / name
    from tffnoise.runner.atomic import atomic_open

    with atomic_open(final, "wb") as fh:
        writer = RecordWriter(fh)
        for ev in events:
            writer.write(ev.SerializeToString())
    return final


def read_events(path: str | os.PathLike) -> list[event_pb2.Event]:
    """Parse an event file back into ``Event`` protos, checking both CRCs (no TensorFlow)."""
    import struct

    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    data = Path(path).read_bytes()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if hcrc != masked_crc32c(header):
            raise ValueError(f"bad length CRC at byte {pos}")
        body = data[pos + 12:pos + 12 + length]
        (dcrc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if dcrc != masked_crc32c(body):
            raise ValueError(f"bad data CRC at byte {pos}")
        ev = event_pb2.Event()
        ev.ParseFromString(body)
        out.append(ev)
        pos += 16 + length
    return out
