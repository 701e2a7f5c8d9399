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
    _init(ray, execution.address)
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


def _init(ray, address: str) -> None:
    if not address:  # no dashboard, so no metrics agent: without this the driver says so on stderr
        os.environ.setdefault("RAY_enable_metrics_collection", "0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Ray's notice about accelerator env vars
        try:
            ray.init(**init_kwargs(address))
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            raise UserError(f"execution.address: cannot join the Ray cluster at {address or 'a local instance'} "
                            f"({str(exc).splitlines()[0][:200]})") from None
