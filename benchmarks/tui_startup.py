"""Cold start of tffnoise-tui to its first painted, usable screen, with where the time goes.

    uv run python benchmarks/tui_startup.py [--repeats 5] [--screen configure|monitor|results|devices]
                                            [--profile 25]

Each repeat is a fresh interpreter (bytecode caches as they are: a first, uncounted run writes them) that
runs the real app headless (Textual's headless driver, 80x24) on the recipes of this checkout and an empty
store. When the first frame is written it presses a key, as a user who sees the screen would, through the
driver like a real key press: the key goes to the focused widget and bubbles up to an app binding, so it is
handled only once the screen's own work queued before it is done. Printed, median and spread of:

    import textual   ``import textual.app`` (Textual, Rich and their dependencies)
    import app       the rest of ``import tffnoise_tui.app``
    to mount         App() built and started, until ``on_mount`` begins (driver, CSS parse)
    first frame      ``on_mount`` to the first frame written (the start screen's compose, mount, layout, render)
    key answered     first frame to the key's handler running (work the screen deferred past its first frame)
    usable           interpreter start to the key's handler: the number the target (<= 1.0 s) is about
    usable, CPU      the process's CPU time by then (interpreter start-up included): on a loaded machine the
                     steadier number, and about "usable" on an idle one
    settled          the key to the process going idle (whatever is still deferred after the key)

and, from start to the key's handler, the CPU time inside Textual's CSS matching (``Stylesheet.apply`` and
``update_nodes``), layout (``Screen._refresh_layout``) and rendering (``Screen._compositor_refresh``), and
the number of widgets on the screen and of stylings (``Stylesheet.apply`` calls: each widget once, and again
at every restyle, such as a class or focus change; a count, so as steady on a loaded machine as on an idle one). ``--profile N`` also runs one start under cProfile and prints the N
functions with the most own time. Add ~20 ms of interpreter start-up before "usable".

Not a test: numbers from a loaded machine mean nothing; run it on an idle one and say how idle (`uptime`).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import time
t0 = time.perf_counter()
import textual.app
t1 = time.perf_counter()
import tffnoise_tui.app as tapp
t2 = time.perf_counter()
import asyncio, json
from textual import events
from textual._wait import wait_for_idle
from textual.binding import Binding
from textual.css.stylesheet import Stylesheet
from textual.screen import Screen

spent = {"css": 0.0, "layout": 0.0, "render": 0.0}
styled = [0]  # Stylesheet.apply calls: one a widget styled, again on each restyle (a steady count of the work)

_apply = Stylesheet.apply
def counted(*a, **kw):
    styled[0] += 1
    return _apply(*a, **kw)
Stylesheet.apply = counted

def timed(cls, name, part):
    inner = getattr(cls, name)
    def wrapper(*a, **kw):
        s = time.thread_time()  # CPU time of the event loop's thread: what other processes take is not counted
        try:
            return inner(*a, **kw)
        finally:
            spent[part] += time.thread_time() - s
    setattr(cls, name, wrapper)

for cls, name, part in ((Stylesheet, "apply", "css"), (Stylesheet, "update_nodes", "css"),
                        (Screen, "_refresh_layout", "layout"), (Screen, "_compositor_refresh", "render")):
    timed(cls, name, part)

marks = {}

class Timed(tapp.TffnoiseApp):
    CSS_PATH = str(__import__("pathlib").Path(tapp.__file__).parent / "app.tcss")  # a subclass in -c has no file
    BINDINGS = [Binding("f12", "usable", "usable", show=False)]  # not priority: reached after the focused widget

    def on_mount(self):  # Textual calls the base class's on_mount after this one
        marks["mount"] = time.perf_counter()

    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if self.first_frame is not None and "key" not in marks:
            marks["key"] = time.perf_counter()
            key = events.Key("f12", None)
            key.set_sender(self)  # as the driver does for a real key press (and Pilot.press)
            self._driver.send_message(key)

    def action_usable(self):
        if "usable" in marks:
            return
        marks["usable"] = time.perf_counter()
        marks["cpu"] = time.process_time()
        marks["spent"] = dict(spent)
        marks["styled"] = styled[0]
        marks["screen"] = type(self.screen).__name__
        marks["focused"] = type(self.focused).__name__ if self.focused else None
        marks["widgets"] = sum(1 for _ in self.screen.walk_children(with_self=False))
        self.run_worker(self._settle())

    async def _settle(self):
        await wait_for_idle(0)
        marks["idle"] = time.perf_counter() - 0.02  # wait_for_idle's last window was idle
        self.exit()

app = Timed(store=%(store)r, recipes=%(recipes)r, start_mode=%(screen)r, discover=False, allow_open=False)
if %(profile)d:
    import cProfile, pstats
    prof = cProfile.Profile()
    prof.runcall(app.run, headless=True, size=(80, 24))
    pstats.Stats(prof).sort_stats("tottime").print_stats(%(profile)d)
else:
    app.run(headless=True, size=(80, 24))
u = marks["usable"]
print("RESULT " + json.dumps({
    "import textual": t1 - t0, "import app": t2 - t1, "to mount": marks["mount"] - t2,
    "first frame": app.first_frame - marks["mount"], "key answered": u - marks["key"], "usable": u - t0,
    "usable, CPU": marks["cpu"],
    "settled": max(0.0, marks["idle"] - u), **{f"  in {k}": v for k, v in marks["spent"].items()},
    "widgets": marks["widgets"], "styled": marks["styled"], "screen": marks["screen"], "focused": marks["focused"]}))
"""


def once(store: str, screen: str, profile: int = 0) -> dict:
    code = CHILD % {"store": store, "recipes": str(ROOT / "recipes"), "screen": screen, "profile": profile}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the app did not start:\n{out.stderr[-2000:]}")
    if profile:
        print(out.stdout.split("RESULT ")[0].strip())
    return json.loads(line[len("RESULT "):])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--screen", default="configure", choices=("configure", "monitor", "results", "devices"))
    p.add_argument("--profile", type=int, default=0, metavar="N", help="also print cProfile's top N of one start")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        once(tmp, args.screen)  # warm the bytecode cache and the OS file cache
        runs = [once(tmp, args.screen) for _ in range(args.repeats)]
        if args.profile:
            once(tmp, args.screen, args.profile)
    first = runs[0]
    print(f"tffnoise-tui cold start to a usable {args.screen} screen ({first['screen']}, {first['widgets']} widgets, "
          f"{first['styled']} widget stylings, key answered by {first['focused']}'s chain), {args.repeats} runs "
          "(median, min–max):")
    for phase, value in first.items():
        if isinstance(value, float):
            vals = [r[phase] for r in runs]
            print(f"  {phase:<14} {statistics.median(vals):6.3f} s   ({min(vals):.3f}–{max(vals):.3f})")
    usable = statistics.median(r["usable"] for r in runs)
    print(f"target usable <= 1.0 s: {'met' if usable <= 1.0 else 'NOT met'} on this machine "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; measure on an idle one)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
