"""The Devices screen's Ray panel: read from OUT/cluster.json, shown only while the sweep's driver writes."""
from tffnoise.distributed import status
from tffnoise.distributed.driver import Job
from tffnoise_tui.devices import DeviceReport


class Spec:
    def __init__(self, run_id):
        self.run_id = run_id


def _app(root):
    from tffnoise_tui.app import TffnoiseApp

    return TffnoiseApp(store=root, start_mode="devices", probe=lambda: DeviceReport(cpu_count=2), poll_interval=3600,
                       device_interval=3600, discover=False, allow_open=False)


async def _panel(root):
    app = _app(root)
    async with app.run_test(size=(100, 30)):
        panel = app.screen.query_one("#cluster")
        return panel.display, str(panel.render())


def test_tui_devices_screen_shows_the_cluster_while_a_ray_sweep_writes(tmp_path):
    import asyncio

    from tffnoise.runner.lock import StoreLock
    from tffnoise.runner.store import Store

    Store(tmp_path).close()
    nodes = [{"NodeID": "n1", "NodeManagerHostname": "head", "NodeManagerAddress": "127.0.0.1", "Alive": True,
              "Resources": {"CPU": 2.0}}]
    with StoreLock(tmp_path):
        status.write(tmp_path, status.snapshot(nodes, [Job([Spec("abcdef123456")], 0, 1.0, 0.0, {"node_id": "n1"})],
                                               "", {"CPU": 1.0}))
        shown, text = asyncio.run(_panel(tmp_path))
        assert shown and "Ray cluster" in text and "CPU 1/2 free" in text and "abcdef12" in text, text
    assert not asyncio.run(_panel(tmp_path))[0]  # the sweep is over: its driver no longer holds the store
