"""Cold start of tffnoise-tui to its first painted, usable screen, with where the time goes.

    uv run python benchmarks/tui_startup.py [--repeats 5] [--screen configure|monitor|results|devices]

Each repeat is a fresh interpreter (bytecode caches as they are: run once first to write them) that runs
the real app headless (Textual's headless driver, 80x24) on the recipes of this checkout and an empty
store, and stops once the first screen is painted and whole. Printed: the median and the spread of each phase:

    import textual   ``import textual.app`` (Textual, Rich and their dependencies)
    import app       the rest of ``import tffnoise_tui.app``
    to mount         App() built and started, until ``on_mount`` begins (driver, CSS parse)
    first screen     ``on_mount`` to the first paint (the start screen's compose, mount, layout, render)
    total            interpreter start to first paint (add ~20 ms of interpreter start-up before it)

Not a test: numbers from a loaded machine mean nothing; run it on an idle one (the target is <= 1.0 s).
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
marks = {}
class Timed(tapp.TffnoiseApp):
    CSS_PATH = str(__import__("pathlib").Path(tapp.__file__).parent / "app.tcss")  # a subclass in -c has no file
    def on_mount(self):  # Textual calls the base class's on_mount after this one
        marks["mount"] = time.perf_counter()
    def _first_paint(self):
        super()._first_paint()
        marks["screen"] = type(self.screen).__name__
        self.exit()
app = Timed(store=%(store)r, recipes=%(recipes)r, start_mode=%(screen)r, discover=False, allow_open=False)
app.run(headless=True, size=(80, 24))
print("RESULT " + json.dumps({"import textual": t1 - t0, "import app": t2 - t1, "to mount": marks["mount"] - t2,
                             "first frame": app.first_frame - marks["mount"], "total": app.first_frame - t0,
                             "rest mounted": app.first_paint - app.first_frame}))
"""


def once(store: str, screen: str) -> dict:
    code = "import json\n" + CHILD % {"store": store, "recipes": str(ROOT / "recipes"), "screen": screen}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=120)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"the app did not start:\n{out.stderr[-2000:]}")
    return json.loads(line[len("RESULT "):])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--screen", default="configure", choices=("configure", "monitor", "results", "devices"))
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        once(tmp, args.screen)  # warm the bytecode cache and the OS file cache
        runs = [once(tmp, args.screen) for _ in range(args.repeats)]
    print(f"tffnoise-tui cold start to the first painted {args.screen} screen, {args.repeats} runs (median, min–max):")
    for phase in runs[0]:
        vals = [r[phase] for r in runs]
        print(f"  {phase:<13} {statistics.median(vals):6.3f} s   ({min(vals):.3f}–{max(vals):.3f})")
    total = statistics.median(r["total"] for r in runs)
    print(f"target <= 1.0 s: {'met' if total <= 1.0 else 'NOT met'} on this machine (measure on an idle one)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
