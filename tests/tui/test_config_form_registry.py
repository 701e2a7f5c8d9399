"""The config form's mechanisms come from the registry: one registered at run time is offered, added with
its own defaults, and its checks show under its fields, with no file of tffnoise/ or tffnoise_tui/ changed."""
from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Select

from tffnoise.errors import ConfigError
from tffnoise.noise import registry
from tffnoise.noise.registry import MechanismInfo
from tffnoise_tui.widgets.config_form import ConfigForm, FieldRow

from .conftest import open_form

pytestmark = pytest.mark.timeout(60)

TOY_DEFAULTS = {"distribution": "laplace", "schedule": "step", "decay": "none"}


def _toy_check(name, spec):
    if spec.level >= 1.0:
        raise ConfigError(f"noise.{name}.level", spec.level, "a relative scale below 1")


@pytest.fixture
def toy():
    # the form never builds mechanisms: the class named here is never imported
    registry.register(MechanismInfo("toy", "toy_plugin.noise:Multiplicative", frozenset({"step_params"}), 101,
                                    dict(TOY_DEFAULTS), _toy_check))
    yield
    registry.unregister("toy")


class FormApp(App):
    """The form alone, on a config dict (also used by test_configure_lazy.py)."""

    def __init__(self, data: dict):
        super().__init__()
        self._data = data

    def compose(self):
        yield ConfigForm(self._data, id="form")


form_ready = open_form


def _values(form: ConfigForm, mech: str) -> dict:
    return {r.path.rsplit(".", 1)[-1]: r.read() for r in form.query(FieldRow) if r.path.startswith(f"noise.{mech}.")}


async def test_a_registered_mechanism_is_offered_added_and_checked(toy):
    app = FormApp({"training": {"rounds": 2}, "noise": {"weights": {"level": 0.1}}})
    async with app.run_test(size=(80, 24)) as pilot:
        form = await form_ready(pilot, "noise")
        offered = [str(v) for _, v in form.query_one("#add-mech", Select)._options]
        assert offered == ["input", "hidden", "gradient", "label", "toy"]
        await form.add_mechanism("toy")
        await pilot.pause()
        assert _values(form, "toy") == {**TOY_DEFAULTS, "level": 0.0, "gamma": 0.55}
        assert form.error is None and form.runs == 1
        app.query_one("#f-noise--toy--level").value = "1.5"
        await pilot.pause()
        assert form.error == "noise.toy.level: 1.5 is not allowed; expected a relative scale below 1"
        row = next(r for r in form.query(FieldRow) if r.path == "noise.toy.level")
        assert row.has_class("-error")
        await form.remove_mechanism("toy")
        assert "toy" in [str(v) for _, v in form.query_one("#add-mech", Select)._options]


async def test_a_file_with_the_mechanism_gets_its_defaults(toy):
    app = FormApp({"training": {"rounds": 2}, "noise": {"toy": {"level": 0.2}}})
    async with app.run_test(size=(80, 24)) as pilot:
        form = await form_ready(pilot, "noise")
        assert _values(form, "toy") == {**TOY_DEFAULTS, "level": 0.2, "gamma": 0.55}
        assert form.error is None
