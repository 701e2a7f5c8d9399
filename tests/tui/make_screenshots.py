"""Write the SVG screenshots of docs/tui.md (Textual's save_screenshot, 100x30, on the tests' store):

    uv run python tests/tui/make_screenshots.py
"""
from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from tests.tui.conftest import FIXTURES, FakeLauncher, build_store, make_app, settle  # noqa: E402
from tffnoise_tui.launcher import Job  # noqa: E402

DOCS = HERE.parents[1] / "docs" / "tui"


_settle = settle


async def shoot(name: str, mode: str, keys=(), tab: str | None = None, launcher=None):
    app = make_app(Path("store"), recipes="recipes", start_mode=mode, launcher=launcher)
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        if mode == "monitor":
            app.screen.refresh_now()
        if tab:
            app.screen.query_one("#tabs").active = tab
        for k in keys:
            await pilot.press(k)
            await pilot.pause(0.1)
        await _settle(pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(DOCS))
        print(DOCS / f"{name}.svg")


async def main():
    DOCS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # every path on screen is relative
        build_store(Path("store"))
        Path("recipes").mkdir()
        shutil.copy(FIXTURES / "recipes" / "quick.toml", "recipes/quick.toml")
        await shoot("configure", "configure")
        launcher = FakeLauncher(FIXTURES / "quickstart_events.jsonl", clock=lambda: 1000.0)
        launcher.submit(Job(config=Path("quick.toml"), out=Path("store")))
        await shoot("monitor", "monitor", keys=("a", "down"), launcher=launcher)
        await shoot("results", "results")
        await shoot("results-curves", "results", keys=("down", "down", "down"), tab="tab-curves")
        await shoot("results-boxplots", "results", tab="tab-box")
        await shoot("results-pos", "results", tab="tab-pos")
        await shoot("devices", "devices")
        await shoot("help", "results", keys=("question_mark",))
        await shoot("store-picker", "results", keys=("f6",))


if __name__ == "__main__":
    asyncio.run(main())
