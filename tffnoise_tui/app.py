"""tffnoise-tui: configure, launch, monitor and compare noise-injection sweeps from the terminal.

Never imports TensorFlow: the runner does the training in its own (detached) process.
"""
from __future__ import annotations

import argparse
import functools
import importlib
import time
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from tffnoise_tui.launcher import Job, Launcher, candidate_stores
from tffnoise_tui.messages import LaunchRequested

MODES = ("configure", "monitor", "results", "devices")


def _screen(mode: str):
    module = importlib.import_module(f"tffnoise_tui.screens.{mode}")
    return getattr(module, f"{mode.capitalize()}Screen")()


def default_recipes_dir() -> Path:
    """./recipes where there is one (a checkout, or a user's own folder), else the recipe files that ship
    inside the installed package."""
    here = Path.cwd() / "recipes"
    if here.is_dir():
        return here
    import tffnoise

    return Path(tffnoise.__file__).resolve().parent / "recipes" / "files"


class TffnoiseApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "tffnoise"
    ENABLE_COMMAND_PALETTE = False  # its footer key took the room of the screens' own keys at 80 columns
    BINDINGS = [
        # The footer shows the screen's own keys first; at 80 columns the screen switches do not fit beside
        # them, so they are listed in the help (`?`), which is generated from these bindings.
        Binding("f2", "mode('configure')", "Configure", priority=True, show=False),
        Binding("f3", "mode('monitor')", "Monitor", priority=True, show=False),
        Binding("f4", "mode('results')", "Results", priority=True, show=False),
        Binding("f5", "mode('devices')", "Devices", priority=True, show=False),
        Binding("f6", "pick_store", "Store", priority=True, tooltip="open another run store"),
        Binding("f1", "help", "Help, F2-F5", priority=True, show=False),
        Binding("c", "mode('configure')", "Configure", show=False),
        Binding("m", "mode('monitor')", "Monitor", show=False),
        Binding("r", "mode('results')", "Results", show=False),
        Binding("d", "mode('devices')", "Devices", show=False),
        Binding("question_mark", "help", "Help, F2-F5"),
        Binding("q", "quit", "Quit (sweeps keep running)", show=False),
        Binding("ctrl+q", "quit", "Quit (sweeps keep running)", priority=True, show=False),
    ]

    def __init__(self, *, store: str | Path | None = None, recipes: str | Path | None = None,
                 config: str | Path | None = None, launcher: Launcher | None = None, probe=None,
                 clock=time.time, start_mode: str | None = None, poll_interval: float = 0.5,
                 device_interval: float = 2.0, allow_open: bool = True, discover: bool = True,
                 process_probe=None):
        super().__init__()
        self.recipes_dir = Path(recipes) if recipes else default_recipes_dir()
        self.initial_config = Path(config) if config else None
        self.store_root = Path(store).expanduser().resolve() if store else (Path.cwd() / "runs").resolve()
        self._store_pinned = store is not None
        self.launcher = launcher or Launcher(clock=clock)
        if probe is None:
            from tffnoise_tui.devices import probe
        self.probe = probe
        if process_probe is None:
            from tffnoise_tui.devices import ProcessProbe

            process_probe = ProcessProbe()
        self.process_probe = process_probe  # pid -> ProcStat | None: the runner's own CPU and memory
        self.clock = clock
        self.poll_interval = poll_interval
        self.device_interval = device_interval
        self.allow_open = allow_open
        self._discover = discover
        self._start_mode = start_mode
        self.first_frame: float | None = None  # perf_counter() when the first frame reached the terminal
        self.first_paint: float | None = None  # perf_counter() after the first screen's refresh (all mounted)

    def on_mount(self) -> None:
        for name in MODES:  # each screen's module (plotext, DataTables, statistics) is imported when first shown
            self.add_mode(name, functools.partial(_screen, name))
        mode = self._start_mode
        if not self._store_pinned:
            # the store of the recipe the configure screen opens, also when the app starts on another screen
            out = self._recipe_out(self.initial_recipe())
            if out is not None:
                self.store_root = out
        if self._discover:
            found = self.launcher.discover(candidate_stores(Path.cwd(), [self.store_root]))
            if found:
                self.store_root = Path(found[0].out)
                self._store_pinned = True
                self.notify(f"found {len(found)} running sweep(s) in {found[0].out}: monitoring")
                mode = mode or "monitor"
        self.switch_mode(mode or "configure")
        self.call_after_refresh(self._first_paint)
        self.set_interval(self.poll_interval, self._poll_launcher)

    def _first_paint(self) -> None:
        self.first_paint = time.perf_counter()

    def _display(self, screen, renderable) -> None:
        """Textual writing a frame (its private hook, pinned Textual 8): the first one is the cold start's end."""
        super()._display(screen, renderable)
        if self.first_frame is None and renderable is not None:
            self.first_frame = time.perf_counter()

    def _poll_launcher(self) -> None:
        if self.launcher.poll():
            job = self.launcher.latest()
            if job is not None and not job.active:
                sev = "information" if job.state == "done" else "error"
                self.notify(f"{job.name}: {job.state}", severity=sev)

    # --- shared state -----------------------------------------------------------------------------
    def recipe_files(self) -> list[Path]:
        try:
            return sorted(self.recipes_dir.glob("*.toml"))
        except OSError:
            return []

    def initial_recipe(self) -> Path | None:
        """The config to start with: the one given on the command line, else the quick start, else the first
        recipe."""
        if self.initial_config is not None:
            return self.initial_config
        files = self.recipe_files()
        quick = [f for f in files if Path(f).name == "quickstart.toml"]
        return (quick or files or [None])[0]

    @staticmethod
    def _recipe_out(path: Path | None) -> Path | None:
        if path is None:
            return None
        from tffnoise.config.load import read_toml
        from tffnoise.errors import UserError

        try:
            out = read_toml(path).get("out")
        except (UserError, OSError):
            return None  # the configure screen reports it
        return Path(out).expanduser().resolve() if isinstance(out, str) and out else None

    def set_store(self, root: Path) -> None:
        """A recipe was loaded: its `out` becomes the store the results look at (unless --out pinned one)."""
        if not self._store_pinned and not self.launcher.current:
            new = Path(root).expanduser().resolve()
            if new != self.store_root:
                self.store_root = new
                self._fresh_monitor()

    def _fresh_monitor(self) -> None:
        """The store changed under a monitor that follows no job: build it anew, so that its log source (the
        new store's newest launch log) and its reader are chosen again."""
        from textual.app import UnknownModeError

        if self.current_mode == "monitor":
            return
        try:
            self.remove_mode("monitor")
        except UnknownModeError:
            return  # not mounted yet: on_mount adds it
        self.add_mode("monitor", functools.partial(_screen, "monitor"))

    def display_path(self, path) -> str:
        """A path relative to the working directory when it is under it (shorter titles at 80 columns)."""
        p = Path(path)
        try:
            return str(p.resolve().relative_to(Path.cwd().resolve()))
        except (ValueError, OSError):
            return str(p)

    # --- actions ----------------------------------------------------------------------------------
    def action_mode(self, mode: str) -> None:
        if self.current_mode != mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        from tffnoise_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_pick_store(self) -> None:
        from tffnoise_tui.screens.store_picker import StorePicker

        if isinstance(self.screen, StorePicker):
            return
        known = [self.store_root, *(j.out for j in self.launcher.jobs)]
        self.push_screen(StorePicker(candidate_stores(Path.cwd(), known), self.store_root, self.display_path),
                         callback=self.open_store)

    def open_store(self, root: Path | None) -> None:
        """Show another run store on every screen (it stays until another is opened: a recipe's `out` no
        longer moves it)."""
        if root is None:
            return
        self.store_root, self._store_pinned = Path(root).resolve(), True
        self.notify(f"store: {self.display_path(self.store_root)}")
        screen = self.screen
        for name in ("reload", "refresh_now"):
            if hasattr(screen, name):
                getattr(screen, name)()
                break

    def on_launch_requested(self, msg: LaunchRequested) -> None:
        busy = self.launcher.current is not None
        job = self.launcher.submit(Job(config=msg.config_path, out=msg.out, preset=msg.preset,
                                       overrides=list(msg.overrides)))
        self.store_root = Path(msg.out)
        self.notify(f"queued {job.name} (after the running sweep)" if busy else f"launched {job.name} → {msg.out}")
        self.switch_mode("monitor")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tffnoise-tui", description=__doc__.splitlines()[0])
    p.add_argument("config", nargs="?", help="a TOML config to open (default: the first recipe)")
    p.add_argument("--out", help="run store to monitor and compare (default: the config's `out`)")
    p.add_argument("--recipes", help="recipes folder (default: ./recipes, else the recipes installed with tffnoise)")
    p.add_argument("--screen", choices=MODES, help="screen to start on")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    app = TffnoiseApp(store=args.out, recipes=args.recipes, config=args.config, start_mode=args.screen)
    app.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
