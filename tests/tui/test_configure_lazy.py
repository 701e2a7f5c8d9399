"""The Configure form starts with its sections closed (their rows mount when first opened): keys are
answered at once, and still every field is validated from the start and reachable from the keyboard."""
from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from tffnoise.config.load import read_toml
from tffnoise_tui.widgets.config_form import SECTION_ORDER, ConfigForm, FieldRow, FormSection, check
from tffnoise_tui.widgets.form_values import wid

from .conftest import make_app
from .test_config_form_registry import FormApp, form_ready

pytestmark = pytest.mark.timeout(90)
RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _mounted(form: ConfigForm) -> set[str]:
    return {r.path for r in form.query(FieldRow)}


async def test_keys_are_answered_while_the_closed_sections_are_not_mounted(store_root):
    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.screen.query_one("#form", ConfigForm)
        await pilot.pause()
        assert _mounted(form) == {"engine", "out", "experiment.name", "experiment.seed", "experiment.repeats"}
        assert len(form.rows()) > 40
        # validated with every section, closed or not: the grid (closed sweep section) makes the 6 runs
        assert form.ready and form.error is None and form.runs == 6
        assert "6 run(s)" in str(app.screen.query_one("#verdict").render())
        await pilot.press("ctrl+o")  # a screen key: answered, and nothing else got mounted for it
        assert app.focused is app.screen.query_one("#open-path")
        assert _mounted(form) == {"engine", "out", "experiment.name", "experiment.seed", "experiment.repeats"}
        # the preset (experiment.repeats = 2) counts through the closed sections too
        app.screen.query_one("#preset").value = "smoke"
        await pilot.pause()
        assert form.runs == 4


async def test_every_field_is_reachable_from_the_keyboard(store_root):
    app = make_app(store_root)
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.screen.query_one("#form", ConfigForm)
        await pilot.pause()
        for sec in SECTION_ORDER:
            section = form.section(sec)
            title = section.query_one("CollapsibleTitle")
            if section.collapsed:
                title.focus()
                await pilot.press("enter")  # the title's own key opens the section and mounts its rows
                await pilot.pause()
            assert not section.collapsed
            rows = [r for r in form.rows() if r.path.split(".")[0] == sec]
            assert rows and all(r.is_mounted for r in rows), sec
            title.focus()
            await pilot.pause()
            assert f"[{sec}]" in str(app.screen.query_one("#doc").render())  # what the title line does
            await pilot.press("tab")  # from the title, tab goes into the section (noise: its remove button first)
            assert section in app.focused.ancestors and app.focused.id in (wid(rows[0].path), "rm-weights"), sec
        chain = {w.id for w in app.screen.focus_chain}
        missing = [r.path for r in form.rows() if wid(r.path) not in chain]
        assert missing == []  # every editor is on the tab chain


async def test_an_error_in_a_closed_section_opens_it_under_its_field():
    data = read_toml(RECIPES / "quickstart.toml")
    data["data"]["partition"] = 3
    expected, _ = check(data)
    assert expected.startswith("data.partition: 3 is not allowed")
    async with FormApp(data).run_test(size=(80, 24)) as pilot:
        form = await form_ready(pilot)
        await pilot.pause()
        assert form.error == expected
        assert not form.section("data").collapsed and form.section("model").collapsed
        row = next(r for r in form.rows() if r.path == "data.partition")
        assert row.is_mounted and row.has_class("-error")
        assert str(row.query_one(".ferr").render()) == expected
        assert pilot.app.query_one(f"#{wid('data.partition')}", Select).value == 3  # shown as it is, not replaced


async def test_a_non_boolean_from_the_file_is_named_not_turned_into_true():
    async with FormApp({"data": {"synthetic": "yes"}}).run_test(size=(80, 24)) as pilot:
        form = await form_ready(pilot)
        await pilot.pause()
        assert form.error == "data.synthetic: 'yes' is not allowed; expected true or false"
        assert pilot.app.query_one(f"#{wid('data.synthetic')}", Select).value == "yes"
        assert form.data()["data"]["synthetic"] == "yes"


@pytest.mark.parametrize("name", ["quickstart.toml", "dp-baseline.toml", "cifar.toml"])
async def test_closed_sections_read_as_their_opened_editors(name):
    """What the rows of a closed section read (`editor_start`) is what their editors read once mounted."""
    data = read_toml(RECIPES / name)
    async with FormApp(data).run_test(size=(80, 24)) as pilot:
        form = await form_ready(pilot)
        before, error, runs = form.data(), form.error, form.runs
        assert len(_mounted(form)) < len(form.rows())
        await form.open_all()
        await pilot.pause()
        assert all(s.filled and not s.collapsed for s in form.query(FormSection))
        assert _mounted(form) == {r.path for r in form.rows()}
        assert form.data() == before
        assert (form.validate(), form.runs) == (error, runs)
        # closing a section keeps its rows (and their edits): it only hides them
        form.section("data").collapsed = True
        await pilot.pause()
        assert form.data() == before
