"""The `tffnoise` command. Subcommands import their heavy parts (TensorFlow, TFF) only when they run,
so `--help`, `validate` and `runs` answer at once."""
from __future__ import annotations

import argparse
import json
import sys

from tffnoise.engines import names as engine_names
from tffnoise.cli_runs import cmd_runs
from tffnoise.errors import UserError
from tffnoise.runner.store import STATUSES
from tffnoise.tflog import quiet_tensorflow


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="experiment TOML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set noise.weights.level=0.5 (repeatable)")
    p.add_argument("--preset", help="apply the file's [presets.NAME] table (e.g. smoke, paper)")


def _base(args) -> dict:
    from tffnoise.config import load_dict

    overrides = list(args.overrides)
    if getattr(args, "engine", None):
        overrides.append(f'engine="{args.engine}"')
    if getattr(args, "out", None):
        overrides.append(("out", args.out))
    if getattr(args, "ray", None) is not None:  # --ray [ADDRESS]: docs/distributed.md
        overrides.append(("execution.backend", "ray"))
        if args.ray:
            overrides.append(("execution.address", args.ray))
    return load_dict(args.file, overrides, args.preset)


def cmd_validate(args) -> int:
    from tffnoise.config.validate import config_from_dict
    from tffnoise.runner.sweep import plan

    base = _base(args)
    config_from_dict(base)
    specs, cells = plan(base)
    plugin = any(":" in s.config.data.source or s.config.model.builder for s in specs)
    if args.data or plugin:  # a plug-in's contract is only checked by calling it
        from tffnoise.runner.sweep import preflight

        preflight(specs)
    cfg = specs[0].config
    print(f"ok: {args.file}: {len(cells)} setting(s) × {cfg.experiment.repeats} repeat(s) = {len(specs)} run(s), "
          f"engine {cfg.engine}, data {cfg.data.source}{' (SYNTHETIC)' if cfg.data.synthetic else ''}, out {cfg.out}")
    return 0


def cmd_run(args) -> int:
    use_json = args.json or not sys.stderr.isatty()
    result = sweep_and_summarize(_base(args), use_json)
    if args.report:
        from tffnoise.reports.from_store import report_store

        for path in report_store(result["out"]):
            print(path, file=sys.stderr if use_json else sys.stdout)
    return 1 if result["status"]["failed"] else 0


def sweep_and_summarize(base: dict, use_json: bool) -> dict:
    """Run one sweep as `tffnoise run` and the recipes show it: the plan once the checks that need no
    TensorFlow pass (so a user error stays one line) and before TensorFlow loads, progress
    (a bar on a terminal, JSON lines on stdout otherwise), then the per-setting summary and what to run next."""
    from tffnoise.cli_table import end_of_sweep
    from tffnoise.runner.progress import JsonEmitter, TerminalProgress, print_header
    from tffnoise.runner.sweep import run_sweep

    result = run_sweep(base, JsonEmitter() if use_json else TerminalProgress(),
                       checked=lambda specs: print_header(specs, sys.stderr, live=not use_json))
    end_of_sweep(result, sys.stderr if use_json else sys.stdout)
    return result


def cmd_rerun(args) -> int:
    from tffnoise.runner.progress import JsonEmitter
    from tffnoise.runner.rerun import COMPARED, rerun

    res = rerun(args.dir, args.run, args.out, JsonEmitter(sys.stderr) if args.verbose else (lambda e: None))
    if args.json:
        print(json.dumps(res, indent=1, default=str))
    else:
        print(f"rerun of {res['run_id']} -> {res['out']}")
        for key in COMPARED:
            a, b = (res["original"] or {}).get(key), res["rerun"].get(key)
            if a is not None or b is not None:
                print(f"  {key:24} original {a!s:>22}  rerun {b!s:>22}")
        print("reproduced: same metrics" if res["reproduced"] else f"NOT reproduced: max |difference| {res['max_abs_diff']:.3g}")
    return 0 if res["reproduced"] else 1


def cmd_report(args) -> int:
    from tffnoise.reports.from_store import report_store

    paths = report_store(args.dir, args.out)
    for p in paths:
        print(p)
    return 0


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("tffnoise")
    except metadata.PackageNotFoundError:  # pragma: no cover - a bare checkout on sys.path
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tffnoise", description="Noise injection in federated and decentralized training.")
    p.add_argument("--version", action="version", version=f"tffnoise {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    r = sub.add_parser("run", help="run an experiment or sweep (resumes unfinished runs)")
    _add_config_args(r)
    r.add_argument("--out", help="run store directory (default: the config's `out`)")
    r.add_argument("--engine", choices=engine_names(), help="override the config's engine")
    r.add_argument("--json", action="store_true", help="JSON lines on stdout instead of a progress bar")
    r.add_argument("--report", action="store_true", help="write the report (figures, summary.md) when the sweep ends")
    r.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run the cells as Ray tasks: on the cluster at ADDRESS ('auto', 'host:port', "
                        "'ray://host:port'), or without one on a local Ray instance on 127.0.0.1 "
                        "(needs `uv sync --extra ray`)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check an experiment file without running it")
    _add_config_args(v)
    v.add_argument("--data", action="store_true", help="also load the data and build the model")
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("runs", help="list the runs in a run store")
    s.add_argument("dir", help="run store directory")
    s.add_argument("--show", metavar="RUN", help="one run (id or unique prefix): status, setting, final metrics, "
                   "history, provenance")
    s.add_argument("--status", choices=STATUSES, metavar="STATUS",
                   help="only runs with this status (" + ", ".join(STATUSES) + "; a running run whose process "
                   "is gone reads interrupted)")
    s.add_argument("--json", action="store_true", help="machine-readable: the index rows (with --show: the "
                   "run's index row, run.json, summary.json and history check) as JSON")
    s.set_defaults(func=cmd_runs)

    rr = sub.add_parser("rerun", help="re-execute a finished run from its record and compare its metrics")
    rr.add_argument("dir", help="run store directory")
    rr.add_argument("run", help="run id (or a unique prefix)")
    rr.add_argument("--out", help="where the rerun is stored (default DIR/reruns/RUN-TIME)")
    rr.add_argument("--json", action="store_true")
    rr.add_argument("--verbose", action="store_true", help="progress events on stderr")
    rr.set_defaults(func=cmd_rerun)

    rep = sub.add_parser("report", help="figures and a Markdown summary from a run store")
    rep.add_argument("dir", help="run store directory")
    rep.add_argument("--out", help="where to write (default DIR/report)")
    rep.set_defaults(func=cmd_report)

    for module in ("tffnoise.privacy.command", "tffnoise.execution.worker"):
        try:
            __import__(module, fromlist=["register"]).register(sub)
        except ImportError:  # pragma: no cover - a partial checkout
            pass
    return p


def main(argv=None) -> int:
    quiet_tensorflow()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
