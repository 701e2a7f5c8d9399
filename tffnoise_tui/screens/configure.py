"""Configure: pick a recipe (or open a TOML path), edit every field, validate inline, save, launch."""
from __future__ import annotations

import time
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, ListItem, ListView, Select, Static

from tffnoise.errors import UserError
from tffnoise_tui.messages import LaunchRequested
from tffnoise_tui.widgets.config_form import ConfigForm

NO_PRESET = "(none)"


class ConfigureScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+r", "launch", "Launch"),
        Binding("ctrl+o", "open_path", "Open path"),
        Binding("ctrl+t", "focus_recipes", "Recipes"),
        Binding("escape", "focus_recipes", "Recipes", show=False),
    ]

    def __init__(self, **kw):
        super().__init__(**kw)
        self.path: Path | None = None
        self.presets: list[str] = []
        self._overwrite: Path | None = None  # the existing file a second ctrl+s would overwrite
        self._saved: Path | None = None  # the file this screen last wrote (no comments left to lose there)

    def notify(self, message: str, **kw) -> None:
        """Messages here carry paths, typed values and validation errors: plain text, never markup."""
        kw.setdefault("markup", False)
        super().notify(message, **kw)

    def compose(self) -> ComposeResult:
        data = self._initial_data()
        files = self.app.recipe_files()
        yield Static("Configure", id="title", classes="title")
        with Horizontal():
            with Vertical(id="side"):
                yield Label("recipes", classes="section")
                yield ListView(*[ListItem(Label(p.name), name=str(p)) for p in files], id="recipes",
                               initial_index=self._recipe_index(files, self.path))
                yield Label("open TOML", classes="section")
                yield Input(placeholder="path/to/file.toml", id="open-path", compact=True)
                # the file is written from the form: the comments of the file it came from are not kept
                yield Label("save as (no comments)", classes="section", id="save-label")
                yield Input(placeholder="path to save", id="save-path", compact=True)
                yield Label("preset", classes="section")
                yield Select([(NO_PRESET, NO_PRESET)], value=NO_PRESET, allow_blank=False, id="preset",
                             compact=True)
            with Vertical(id="main"):
                yield Static("", id="verdict")
                yield Vertical(ConfigForm(data, id="form"), id="form-box")
                yield Static("", id="doc")
        yield Footer()

    def _initial_data(self) -> dict:
        """The config to start with (`app.initial_recipe()`), read once at compose."""
        from tffnoise.config.load import read_toml

        start = self.app.initial_recipe()
        if start is None:
            return {}
        try:
            data = read_toml(start)
        except UserError as exc:
            self._startup_error = str(exc)
            return {}
        self.path = Path(start)
        return data

    @staticmethod
    def _recipe_index(files, path: Path | None) -> int | None:
        """The list position of the loaded file (None when it is not one of the recipes)."""
        if path is None:
            return None
        try:
            target = Path(path).resolve()
            return next((i for i, f in enumerate(files) if Path(f).resolve() == target), None)
        except OSError:
            return None

    def on_mount(self) -> None:
        if getattr(self, "_startup_error", None):
            self.notify(self._startup_error, severity="error")
        if self.path is not None:
            self._loaded(self.path, self.form()._data)
        self.query_one("#recipes", ListView).focus()

    # --- loading ----------------------------------------------------------------------------------
    async def load(self, path: Path) -> bool:
        from tffnoise.config.load import read_toml

        try:
            data = read_toml(path)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return False
        box = self.query_one("#form-box", Vertical)
        await box.remove_children()
        await box.mount(ConfigForm(data, id="form"))
        self._loaded(Path(path), data)
        return True

    def _loaded(self, path: Path, data: dict) -> None:
        self.path = Path(path)
        self.presets = list((data.get("presets") or {}).keys()) if isinstance(data.get("presets"), dict) else []
        self.query_one("#save-path", Input).value = str(save_as_default(Path(path)))
        sel = self.query_one("#preset", Select)
        sel.set_options([(NO_PRESET, NO_PRESET)] + [(p, p) for p in self.presets])
        sel.value = NO_PRESET
        self.query_one("#title", Static).update(f"Configure  {escape(self.app.display_path(path))}")
        lv = self.query_one("#recipes", ListView)
        lv.index = self._recipe_index([item.name for item in lv.query(ListItem)], path)
        from tffnoise_tui.widgets.config_form import check

        err, _ = check(data)  # the file as the CLI would see it (the form drops keys it does not know)
        if err:
            self.notify(f"{path.name}: {err}", severity="warning", timeout=8)
        out = data.get("out")
        if isinstance(out, str) and out:
            self.app.set_store(Path(out))

    @on(ListView.Selected, "#recipes")
    async def _recipe(self, event: ListView.Selected) -> None:
        if event.item.name:
            await self.load(Path(event.item.name))

    @on(Input.Submitted, "#open-path")
    async def _open(self, event: Input.Submitted) -> None:
        if event.value.strip() and await self.load(Path(event.value.strip()).expanduser()):
            self.form().focus()  # out of the text box: the screen's letter keys work again

    @on(Input.Changed, "#save-path")
    def _save_target_changed(self, event: Input.Changed) -> None:
        self._overwrite = None

    @on(Input.Submitted, "#save-path")
    def _save_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    @on(Select.Changed, "#preset")
    def _preset_changed(self, event: Select.Changed) -> None:
        form = self.form()
        preset = None if event.value in (NO_PRESET, Select.BLANK) else str(event.value)
        if form.preset != preset:
            form.preset = preset
            if form.ready:
                form.validate()

    # --- validation display -------------------------------------------------------------------
    @on(ConfigForm.Validated)
    def _validated(self, event: ConfigForm.Validated) -> None:
        from rich.text import Text

        v = self.query_one("#verdict", Static)
        if event.error:  # plain text, never markup: a typed `[` must not turn the message into tags
            v.update(Text(f"✗ {event.error}", style="bold red"))
        else:
            v.update(Text.assemble(("✓ valid", "bold green"), f": {event.runs} run(s)  ",
                                   ("ctrl+s save · ctrl+r launch", "dim")))

    @on(ConfigForm.DocChanged)
    def _doc(self, event: ConfigForm.DocChanged) -> None:
        self.query_one("#doc", Static).update(escape(event.text))

    # --- actions ----------------------------------------------------------------------------------
    def form(self) -> ConfigForm:
        return self.query_one("#form", ConfigForm)

    def action_focus_recipes(self) -> None:
        self.query_one("#recipes", ListView).focus()

    def action_open_path(self) -> None:
        self.query_one("#open-path", Input).focus()

    def action_save(self) -> Path | None:
        from tffnoise.config.load import to_toml
        from tffnoise.runner.atomic import write_text

        target = self.query_one("#save-path", Input).value.strip()
        if not target:
            self.notify("type a path under 'save as' first", severity="warning")
            return None
        form = self.form()
        if not form.ready:
            self.notify("the form is still loading", severity="warning")
            return None
        path = Path(target).expanduser()
        if path.exists() and path.resolve() not in (self._overwrite, self._saved):
            # never overwrite on one key: the file (a recipe with its comments) would be rewritten from the form
            self._overwrite = path.resolve()
            self.notify(f"{path} exists: ctrl+s again to overwrite it (its comments will not be kept)",
                        severity="warning", timeout=8)
            return None
        self._overwrite = None
        error = form.validate()
        try:
            write_text(path, to_toml(form.data()))
        except Exception as exc:
            self.notify(f"could not save {path}: {exc}", severity="error")
            return None
        self.path = path
        self._saved = path.resolve()
        if error:
            self.notify(f"saved {path}, but it does not validate: {error}", severity="warning")
        else:
            self.notify(f"saved {path} (comments are not kept)")
        return path

    def action_launch(self) -> None:
        from tffnoise.config.load import to_toml
        from tffnoise.runner.atomic import write_text

        form = self.form()
        if not form.ready:
            self.notify("the form is still loading", severity="warning")
            return
        error = form.validate()
        if error:
            self.notify(f"cannot launch: {error}", severity="error")
            return
        data = form.data()
        out = Path(str(data.get("out") or "runs")).expanduser().resolve()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        cfg_path = out / "launches" / f"{stamp}-{(self.path.stem if self.path else 'config')}.toml"
        write_text(cfg_path, to_toml(data))
        preset = self.query_one("#preset", Select).value
        self.post_message(LaunchRequested(cfg_path, out, None if preset == NO_PRESET else str(preset)))


def save_as_default(path: Path) -> Path:
    """A "save as" target beside the loaded file that does not exist yet (never the file itself)."""
    for n in range(1, 1000):
        cand = path.with_name(f"{path.stem}-edited{'' if n == 1 else f'-{n}'}{path.suffix or '.toml'}")
        if not cand.exists():
            return cand
    return path.with_name(f"{path.stem}-edited{path.suffix or '.toml'}")


def escape(text: str) -> str:
    from rich.markup import escape as _e

    return _e(text)
