"""The app's run store follows the recipe: on every start screen, and the monitor's log source with it."""
from __future__ import annotations

import shutil

import pytest
from textual.widgets import Log

from .conftest import FIXTURES, build_store, make_app

pytestmark = pytest.mark.timeout(60)


def _recipe(d, name, out):
    text = (FIXTURES / "recipes" / "quick.toml").read_text().replace('out = "runs/quickstart"', f'out = "{out}"')
    assert f'out = "{out}"' in text
    (d / name).write_text(text)


@pytest.mark.parametrize("screen", ["monitor", "results"])
async def test_start_screen_finds_the_recipes_store(tmp_path, monkeypatch, screen):
    monkeypatch.chdir(tmp_path)
    build_store(tmp_path / "runs" / "quickstart")
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    shutil.copy(FIXTURES / "recipes" / "quick.toml", recipes / "quick.toml")
    app = make_app(None, recipes=recipes, start_mode=screen)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.store_root == (tmp_path / "runs" / "quickstart").resolve()
        assert "runs/quickstart" in str(app.screen.query_one("#title").render())
        if screen == "results":
            assert app.screen.records


async def test_monitor_log_source_follows_the_store(tmp_path, monkeypatch):
    from tffnoise_tui.screens.configure import ConfigureScreen

    monkeypatch.chdir(tmp_path)
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for name in ("a", "b"):
        build_store(tmp_path / "runs" / name, dp=False)
        (tmp_path / "runs" / name / "launches").mkdir(exist_ok=True)
        (tmp_path / "runs" / name / "launches" / "1-x.log").write_text(f"log of store {name}\n")
        _recipe(recipes, f"{name}.toml", f"runs/{name}")
    app = make_app(None, recipes=recipes)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.store_root == (tmp_path / "runs" / "a").resolve()
        await pilot.press("f3")
        await pilot.pause()
        assert "log of store a" in "\n".join(app.screen.query_one("#log", Log).lines)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ConfigureScreen)
        assert await app.screen.load(recipes / "b.toml")
        await pilot.pause()
        assert app.store_root == (tmp_path / "runs" / "b").resolve()
        await pilot.press("f3")
        await pilot.pause()
        await pilot.pause()
        text = "\n".join(app.screen.query_one("#log", Log).lines)
        assert "log of store b" in text and "log of store a" not in text
