"""Join the Ray cluster a sweep names, or start a private one on loopback (the laptop case)."""
from __future__ import annotations

import contextlib
import logging
import os
import warnings

from tffnoise.errors import UserError


@contextlib.contextmanager
def session(execution):
    """Ray for the sweep's duration; nothing for the local backend. A Ray already initialized in this
    process (a notebook, a test) is used as it is and left running."""
    if execution.backend != "ray":
        yield None
        return
    from tffnoise.distributed.config import require_ray

    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    connect(ray, execution.address)
    try:
        yield ray
    finally:
        ray.shutdown()


def init_kwargs(address: str) -> dict:
    """No address: address="local" (never an instance someone else started here), every service on
    127.0.0.1, no dashboard. Worker output stays in Ray's session logs, off the progress bar."""
    kw: dict = {"log_to_driver": False, "logging_level": logging.ERROR}
    env = {k: v for k, v in os.environ.items() if k.startswith("TFFNOISE_")}
    if env:  # the driver's tffnoise settings (e.g. TFFNOISE_CHECKPOINT_S) hold on every node
        kw["runtime_env"] = {"env_vars": env}
    if address:
        return {**kw, "address": address}
    from tffnoise.execution.cores import usable_cores

    return {**kw, "address": "local", "_node_ip_address": "127.0.0.1", "include_dashboard": False,
            "num_cpus": usable_cores()}


LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _set_constant(ray, name: str, value) -> None:
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    if constants is not None and hasattr(constants, name):
        setattr(constants, name, value)


def _defaults(ray, address: str) -> None:
    """Two of Ray's defaults changed before it connects. Under `uv run`, Ray would replicate the uv
    environment on every worker by uploading the current directory (run stores included) and starting
    each worker through `uv run`: nodes run their installed tffnoise instead. And Ray rewrites a
    loopback address to this host's outward IP (ray._private.services.resolve_ip_for_localhost), so a
    cluster bound to 127.0.0.1 would be unreachable and the driver would use another address: its
    single-machine switch keeps loopback as it is."""
    _set_constant(ray, "RAY_ENABLE_UV_RUN_RUNTIME_ENV", False)
    if address.removeprefix("ray://").rsplit(":", 1)[0] in LOOPBACK:
        _set_constant(ray, "ENABLE_RAY_CLUSTER", False)


def connect(ray, address: str) -> None:
    """ray.init for `address` ('' = a local instance), with the defaults above."""
    _defaults(ray, address)
    if not address:  # no dashboard, so no metrics agent: without this the driver says so on stderr
        os.environ.setdefault("RAY_enable_metrics_collection", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Ray's notice about accelerator env vars
        try:
            ray.init(**init_kwargs(address))
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            raise UserError(f"execution.address: cannot join the Ray cluster at {address or 'a local instance'} "
                            f"({str(exc).splitlines()[0][:200]})") from None
