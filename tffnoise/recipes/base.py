"""The shared command line of every recipe module."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tffnoise.engines import names as engine_names
from tffnoise.errors import UserError
from tffnoise.tflog import quiet_tensorflow


def recipes_dir() -> Path:
    """The recipe TOMLs ship inside the package (a checkout's ./recipes links to the same folder), so
    `python -m tffnoise.recipes.X` works from an installed wheel too."""
    env = os.environ.get("TFFNOISE_RECIPES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "files"


def recipe_files(files) -> list[Path]:
    out = []
    for name in files:
        p = recipes_dir() / name
        if not p.exists():
            raise UserError(f"{p}: recipe file missing (set TFFNOISE_RECIPES to the folder holding the recipe TOML files)")
        out.append(p)
    return out


def presets(files) -> list[str]:
    """The presets the recipe's files define (`[presets.NAME]`), in file order."""
    from tffnoise.config.load import read_toml

    names: list[str] = []
    for f in recipe_files(files):
        names += [n for n in read_toml(f).get("presets", {}) if n not in names]
    return names


def parser(name: str, doc: str, files=()) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m tffnoise.recipes.{name}", description=doc)
    known = ", ".join(presets(files)) if files else "smoke, paper"
    p.add_argument("--preset", default="smoke", help=f"one of {known} (smoke: fast, proves it works; paper: the "
                   "publication's settings; the recipe file's comments describe the others); default smoke")
    p.add_argument("--data-dir", help="folder or file with the real dataset (sets data.path)")
    p.add_argument("--out", help="run store directory (default: runs/<recipe>-<preset>)")
    p.add_argument("--synthetic", action="store_true", help="use the synthetic stand-in where the real data is absent; every output says SYNTHETIC")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="any config override")
    p.add_argument("--engine", choices=engine_names())
    p.add_argument("--json", action="store_true", help="JSON lines instead of a progress bar")
    p.add_argument("--no-report", action="store_true", help="skip the report at the end")
    return p


def run_recipe(name: str, files, doc: str, argv=None) -> int:
    quiet_tensorflow()
    try:
        args = parser(name, doc, files).parse_args(argv)
        return _run(name, files, args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def recipe_configs(files, preset: str, out: str, overrides=(), data_dir=None, synthetic: bool = False,
                   engine=None) -> list[dict]:
    """The configs a recipe runs, one per file: the one place its options become overrides (the recipe
    command and the benchmark's sweep rows both build them here)."""
    from tffnoise.config import load_dict

    overrides = list(overrides)
    if data_dir:
        overrides.append(("data.path", data_dir))
    if synthetic:
        overrides.append(("data.synthetic", True))
    if engine:
        overrides.append(("engine", engine))
    overrides.append(("out", out))
    return [load_dict(f, overrides, preset) for f in recipe_files(files)]


def _run(name, files, args) -> int:
    from tffnoise.cli import sweep_and_summarize
    from tffnoise.reports.from_store import report_store

    out = args.out or f"runs/{name}-{args.preset}"
    bases = recipe_configs(files, args.preset, out, overrides=args.overrides, data_dir=args.data_dir,
                           synthetic=args.synthetic, engine=args.engine)
    use_json = args.json or not sys.stderr.isatty()
    failed = 0
    for base in bases:
        failed += sweep_and_summarize(base, use_json)["status"]["failed"]
    if not args.no_report:
        for path in report_store(out):
            print(path)
    print(f"recipe {name} (preset {args.preset}) -> {out}", file=sys.stderr)
    return 1 if failed else 0
