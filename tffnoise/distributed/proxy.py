"""The store a cell sees on a Ray worker: a scratch copy of its runs' files, every write sent back.

`execute_cell` (tffnoise/runner/cell.py) reads checkpoints and metrics from its store's run folders
and writes metrics rows, checkpoints, the model and the summary there. Here those folders are a
scratch directory on the worker (filled with what the driver shipped), and each write also becomes
a message for the driver, the store's only writer, which applies it to the real store in order.
A file the cell wrote directly (checkpoint.npz, model.keras, members.npz) is sent, whole, before the
next index update of its run: the driver's index never names a round whose checkpoint it lacks.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from tffnoise.runner.store import Store

FILES = ("checkpoint.npz", "members.npz", "model.keras")  # written by the cell itself, sent whole
SHIPPED = ("checkpoint.npz", "metrics.jsonl")  # what a cell reads back: sent to the worker with it


class ProxyStore:
    def __init__(self, scratch: Path, files: dict, send):
        """`files`: run_id -> {name: bytes} from the driver; `send(msg)`: one message to the driver."""
        self._local = Store(scratch)
        self._send = send
        self._sent: dict = {}
        for run_id, named in files.items():
            d = self.run_dir(run_id)
            d.mkdir(parents=True, exist_ok=True)
            for name, data in named.items():
                (d / name).write_bytes(data)
                self._sent[(run_id, name)] = hashlib.blake2b(data).digest()

    def _flush(self, run_id: str) -> None:
        d = self.run_dir(run_id)
        for name in FILES:
            p = d / name
            if not p.exists():
                continue
            data = p.read_bytes()  # by content: two writes within one mtime tick still differ
            digest = hashlib.blake2b(data).digest()
            if self._sent.get((run_id, name)) != digest:
                self._sent[(run_id, name)] = digest
                self._send(("file", run_id, name, data))

    def run_dir(self, run_id: str) -> Path:
        return self._local.run_dir(run_id)

    def read_metrics(self, run_id: str) -> list[dict]:
        return self._local.read_metrics(run_id)

    def append_metrics(self, run_id: str, row: dict) -> None:
        self._local.append_metrics(run_id, row)
        self._send(("metrics", run_id, row))

    def truncate_metrics(self, run_id: str, last_round: int) -> None:
        self._local.truncate_metrics(run_id, last_round)
        self._send(("truncate", run_id, last_round))

    def update(self, run_id: str, **fields) -> None:
        self._flush(run_id)
        self._send(("update", run_id, fields))

    def write_summary(self, run_id: str, summary: dict) -> None:
        self._flush(run_id)
        self._send(("summary", run_id, summary))

    def close(self) -> None:
        self._local.close()
