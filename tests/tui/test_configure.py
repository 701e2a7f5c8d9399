"""Configure screen: recipe list, form from the schema, inline validation with the CLI's messages,
noise mechanisms add/remove, sweep grid as text, atomic save, launch request."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tffnoise.config.load import apply_overrides, read_toml
from tffnoise.config.validate import config_from_dict
from tffnoise.errors import ConfigError
from tffnoise_tui.widgets.config_form import ConfigForm, FieldRow, check, error_field, toml_value

from .conftest import FIXTURES, FakeLauncher, make_app, open_form

pytestmark = pytest.mark.timeout(60)


_form = open_form  # the others stay closed: test_configure_lazy.py


def _cli_message(data: dict, key: str, value) -> str:
    with pytest.raises(ConfigError) as exc:
        config_from_dict(apply_overrides({k: v for k, v in data.items() if k != "presets"}, [(key, value)]))
    return str(exc.value)


async def test_form_covers_every_field_and_validates(store_root):
    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot)
        paths = {r.path for r in form.rows()}  # every row, its section open or not
        for p in ("engine", "out", "experiment.repeats", "data.source", "model.hidden", "training.rounds",
                  "privacy.mode", "execution.workers", "sweep.grid", "sweep.cases", "noise.weights.level",
                  "noise.weights.schedule", "noise.weights.gamma"):
            assert p in paths
        assert form.error is None and form.runs == 6
        assert "✓ valid" in str(app.screen.query_one("#verdict").render())
        # the form's dict is the recipe (defaults filled in) and round-trips through validation
        data = form.data()
        assert data["presets"]["smoke"]["training.rounds"] == 4
        assert data["sweep"]["grid"] == {"noise.weights.level": [0.0, 0.5]}


async def test_inline_error_matches_cli(store_root):
    app = make_app(store_root)
    recipe = read_toml(FIXTURES / "recipes" / "quick.toml")
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "training")
        inp = app.screen.query_one("#f-training--rounds")
        inp.value = "-3"
        await pilot.pause()
        expected = _cli_message(recipe, "training.rounds", -3)
        assert form.error == expected == "training.rounds: -3 is not allowed; expected an integer ≥ 0"
        row = next(r for r in form.query(FieldRow) if r.path == "training.rounds")
        assert row.has_class("-error") and row.error == expected
        assert "✗ training.rounds" in str(app.screen.query_one("#verdict").render())
        # a word where a number belongs: the same message as `--set training.learning_rate=abc`
        inp.value = "5"
        app.screen.query_one("#f-training--learning_rate").value = "abc"
        await pilot.pause()
        assert form.error == _cli_message(recipe, "training.learning_rate", "abc")
        assert not row.has_class("-error")
        app.screen.query_one("#f-training--learning_rate").value = "0.1"
        await pilot.pause()
        assert form.error is None


async def test_noise_add_remove_and_grid_text(store_root):
    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "sweep")
        await form.add_mechanism("gradient")
        await pilot.pause()
        d = form.data()
        assert set(d["noise"]) == {"weights", "gradient"}
        assert d["noise"]["gradient"]["schedule"] == "step"  # the mechanism's own defaults
        app.screen.query_one("#f-noise--gradient--level").value = "0.01"
        app.screen.query_one("#f-sweep--grid").value = '{ "noise.weights.level" = [0.0, 0.5, 1.0] }'
        await pilot.pause()
        assert form.error is None and form.runs == 9
        app.screen.query_one("#f-sweep--grid").value = '{ "noise.weights.lvl" = [0.0] }'
        await pilot.pause()
        assert form.error and form.error.startswith("noise.weights.lvl")
        app.screen.query_one("#f-sweep--grid").value = '{ "noise.weights.level" = [] }'
        await pilot.pause()
        assert form.error.startswith("sweep.grid.noise.weights.level:")
        row = next(r for r in form.query(FieldRow) if r.path == "sweep.grid")
        assert row.has_class("-error")
        await form.remove_mechanism("gradient")
        app.screen.query_one("#f-sweep--grid").value = "{}"
        await pilot.pause()
        assert set(form.data()["noise"]) == {"weights"} and form.error is None
        # the mechanism's label schedule rule: the validator's semantic checks come through
        await form.add_mechanism("label")
        app.screen.query_one("#f-noise--label--level").value = "1.5"
        await pilot.pause()
        assert form.error == "noise.label.level: 1.5 is not allowed; expected a flip probability between 0 and 1"


async def test_save_atomic_roundtrip_and_launch_request(store_root, tmp_path):
    app = make_app(store_root)
    target = tmp_path / "saved.toml"
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot)
        app.screen.query_one("#f-experiment--repeats").value = "2"
        app.screen.query_one("#save-path").value = str(target)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = tomllib.loads(target.read_text())
        assert saved["experiment"]["repeats"] == 2
        assert saved["presets"]["smoke"]["training.rounds"] == 4
        assert config_from_dict({k: v for k, v in saved.items() if k != "presets"}).experiment.repeats == 2
        assert not list(tmp_path.glob(".saved.toml.*"))  # no temp file left behind
        # open that path through the "open TOML" box
        app.screen.query_one("#open-path").value = str(target)
        app.screen.query_one("#open-path").focus()
        await pilot.press("enter")
        form = await _form(pilot)
        assert form.data()["experiment"]["repeats"] == 2


async def test_recipe_list_and_launch_message(store_root, tmp_path):
    from tffnoise_tui.screens.monitor import MonitorScreen

    launcher = FakeLauncher(FIXTURES / "quickstart_events.jsonl")
    app = make_app(store_root, launcher=launcher)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot)
        assert [str(i.name).rsplit("/", 1)[-1] for i in app.screen.query("#recipes ListItem")] == ["quick.toml"]
        app.screen.query_one("#f-out").value = str(tmp_path / "out")
        preset = app.screen.query_one("#preset")
        assert [str(o[0]) for o in preset._options] == ["(none)", "smoke"]
        preset.value = "smoke"
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert len(launcher.jobs) == 1
        job = launcher.jobs[0]
        cfg = job.config
        assert job.out == tmp_path / "out" and job.state in ("running", "done") and job.preset == "smoke"
        assert cfg.parent == tmp_path / "out" / "launches" and cfg.exists()
        assert isinstance(app.screen, MonitorScreen)
        assert config_from_dict({k: v for k, v in tomllib.loads(cfg.read_text()).items() if k != "presets"})


def test_helpers():
    assert toml_value({"noise.weights.level": [0.0, 0.5], "a": True}) == '{ "noise.weights.level" = [0.0, 0.5], a = true }'
    assert check({"training": {"rounds": -1}})[0] == "training.rounds: -1 is not allowed; expected an integer ≥ 0"
    assert error_field("noise.weights.level: 'x' is not allowed; expected a number", ["noise.weights.level"]) == "noise.weights.level"
    assert error_field("sweep.grid.a.b: [] is not allowed; expected x", ["sweep.grid"]) == "sweep.grid"


async def test_plugin_data_source_can_be_typed(store_root):
    from textual.widgets import Input, Select

    from tffnoise_tui.widgets.config_form import PLUGIN

    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "data")
        sel = app.screen.query_one("#f-data--source", Select)
        box = app.screen.query_one("#c-data--source", Input)
        assert not box.display
        sel.value = PLUGIN
        await pilot.pause()
        assert box.display
        box.value = "examples.wine_plugin:load_data"
        await pilot.pause(0.3)
        assert form.data()["data"]["source"] == "examples.wine_plugin:load_data"
        assert form.error is None
        box.value = "wine"  # not a known dataset and not package.module:function
        await pilot.pause(0.3)
        assert form.error and form.error.startswith("data.source: 'wine' is not allowed")
        sel.value = "digits"
        await pilot.pause(0.3)
        assert not box.display and form.data()["data"]["source"] == "digits" and form.error is None


async def test_a_plugin_source_in_the_file_opens_in_the_text_box():
    from textual.app import App
    from textual.widgets import Input, Select

    from tffnoise_tui.widgets.config_form import PLUGIN

    class One(App):
        def compose(self):
            yield ConfigForm({"data": {"source": "examples.wine_plugin:load_data"}}, id="form")

    async with One().run_test(size=(80, 24)) as pilot:
        form = pilot.app.query_one("#form", ConfigForm)
        while not form.ready:
            await pilot.pause(0.02)
        await form.section("data").open()
        assert pilot.app.query_one("#f-data--source", Select).value == PLUGIN
        box = pilot.app.query_one("#c-data--source", Input)
        assert box.display and box.value == "examples.wine_plugin:load_data"
        assert form.data()["data"]["source"] == "examples.wine_plugin:load_data"


def _recipes_copy(tmp_path):
    import shutil

    d = tmp_path / "recipes"
    d.mkdir()
    shutil.copy(FIXTURES / "recipes" / "quick.toml", d / "quick.toml")
    return d / "quick.toml"


async def test_ctrl_s_never_overwrites_the_loaded_recipe_without_confirmation(store_root, tmp_path):
    recipe = _recipes_copy(tmp_path)
    before = recipe.read_text()
    app = make_app(store_root, recipes=recipe.parent)
    async with app.run_test(size=(80, 24)) as pilot:
        await _form(pilot)
        save = app.screen.query_one("#save-path")
        assert save.value and Path(save.value).resolve() != recipe.resolve()  # not pre-filled with the recipe
        assert "comments" in str(app.screen.query_one("#save-label").render())  # says plainly they are dropped
        await pilot.press("ctrl+s")  # the default target is new: saved at once
        await pilot.pause()
        assert Path(save.value).exists() and recipe.read_text() == before
        app.screen.query_one("#f-experiment--repeats").value = "2"
        await pilot.pause()
        await pilot.press("ctrl+s")  # the file this screen wrote itself: saved again at once
        await pilot.pause()
        assert tomllib.loads(Path(save.value).read_text())["experiment"]["repeats"] == 2
        save.value = str(recipe)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert recipe.read_text() == before  # one key never overwrites
        await pilot.press("ctrl+s")  # the second press confirms
        await pilot.pause()
        assert recipe.read_text() != before and "#" not in recipe.read_text().split("\n", 1)[0]


async def test_preset_changes_the_validated_run_count(store_root):
    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot)
        assert form.runs == 6  # 2 levels x 3 repeats
        app.screen.query_one("#preset").value = "smoke"  # experiment.repeats = 2
        await pilot.pause()
        await pilot.pause()
        assert form.runs == 4
        assert "4 run(s)" in str(app.screen.query_one("#verdict").render())
        app.screen.query_one("#preset").value = "(none)"
        await pilot.pause()
        await pilot.pause()
        assert form.runs == 6
    assert check(read_toml(FIXTURES / "recipes" / "quick.toml"), "smoke") == (None, 4)


@pytest.mark.parametrize("field,text", [("#f-sweep--grid", '{"noise.weights.level" = [0.0, 0.5}'),
                                        ("#f-model--hidden", "[64")])
async def test_malformed_toml_is_named_and_leaks_no_markup(store_root, field, text):
    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, field.split("--")[0][3:])
        app.screen.query_one(field).value = text
        await pilot.pause()
        await pilot.pause()
        assert "is not valid TOML" in form.error and "expected a table" not in form.error
        assert form.runs is None
        verdict = str(app.screen.query_one("#verdict").render())
        assert verdict.startswith("✗ ") and "[/]" not in verdict and text in verdict
        row = next(r for r in form.query(FieldRow) if r.path == field[3:].replace("--", "."))
        assert row.error == form.error


async def test_open_moves_focus_and_the_list_highlights_the_loaded_recipe(store_root, tmp_path):
    import shutil

    d = tmp_path / "recipes"
    d.mkdir()
    shutil.copy(FIXTURES / "recipes" / "quick.toml", d / "a.toml")
    shutil.copy(FIXTURES / "recipes" / "quick.toml", d / "quickstart.toml")
    app = make_app(store_root, recipes=d)
    async with app.run_test(size=(80, 24)) as pilot:
        await _form(pilot)
        lv = app.screen.query_one("#recipes")
        assert app.screen.path.name == "quickstart.toml" and lv.index == 1  # the loaded one, not the first
        box = app.screen.query_one("#open-path")
        box.value = str(d / "a.toml")
        box.focus()
        await pilot.press("enter")
        await _form(pilot)
        assert app.screen.path.name == "a.toml" and lv.index == 0
        assert app.focused is not box
        await pilot.press("z")
        assert box.value == str(d / "a.toml")  # a letter key no longer lands in the box
