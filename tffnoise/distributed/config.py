"""The [execution] rules of the Ray backend (no Ray import: config validation stays light)."""
from __future__ import annotations

import re

from tffnoise.config import schema
from tffnoise.config.unused import unused
from tffnoise.errors import ConfigError, UserError

EXTRA_HINT = "install the extra: `uv sync --extra ray` (or `pip install 'tffnoise[ray]'`)"
_ADDRESS = re.compile(r"^(auto|(ray://)?[A-Za-z0-9_.\-]+:\d{1,5}|\[[0-9A-Fa-f:]+\]:\d{1,5})$")


def check_execution(cfg: schema.Config) -> None:
    e = cfg.execution
    if e.backend != "ray":
        unused("execution", e, ("address", "num_gpus", "max_retries"),
               "only execution.backend = 'ray' runs cells on a Ray cluster")
        return
    if e.address and not _ADDRESS.match(e.address):
        raise ConfigError("execution.address", e.address,
                          "'' (a local Ray instance), 'auto', 'host:port' or 'ray://host:port'")
    if e.num_gpus != -1 and e.num_gpus < 0:
        raise ConfigError("execution.num_gpus", e.num_gpus, "-1 (automatic) or a number >= 0")
    if e.workers:
        raise ConfigError("execution.workers", e.workers,
                          "[] with execution.backend = 'ray' (Ray spreads cells; TFF workers spread one run's "
                          "clients: docs/distributed.md)")


def sweep_backend(specs) -> schema.Execution:
    """The sweep's one [execution] for dispatch: it says where cells run, so a grid may not vary it."""
    keys = {(s.config.execution.backend, s.config.execution.address) for s in specs}
    if len(keys) > 1:
        raise ConfigError("execution.backend", sorted(keys), "one backend and address for the whole sweep")
    return specs[0].config.execution


def require_ray():
    """The ray module, or one line naming the extra (before anything is written)."""
    try:
        import ray
    except ImportError as exc:
        raise UserError(f"execution.backend = 'ray' needs Ray, which is not installed ({exc}); {EXTRA_HINT}") from None
    return ray
