"""Run one cell: the pending repeats of one setting, together (the stacked engine runs them as one
graph), from their last checkpoint, writing metrics, checkpoints and final artifacts per run."""
from __future__ import annotations

import io
import os
import time

import numpy as np

from tffnoise.algorithms import engine as engines
from tffnoise.runner.atomic import write_bytes
from tffnoise.runner.heap import freeze_import_heap
from tffnoise.runner.store import Store
from tffnoise.runner.timings import Timings

CHECKPOINT_EVERY_S = float(os.environ.get("TFFNOISE_CHECKPOINT_S", "2.0"))
CHUNK_S = min(0.5, CHECKPOINT_EVERY_S)  # seconds of rounds per engine call (see chunk_rounds)
# At most this share of a cell's time goes to periodic checkpoints: a 10-repeat MNIST-MLP cell writes
# 30-300 MB per checkpoint, so every 2 s meant one every round (serial: 76 s of a 350 s cell).
CHECKPOINT_SHARE = 0.1


def checkpoint_interval(last_cost_s: float) -> float:
    """Seconds between periodic checkpoints: CHECKPOINT_EVERY_S, stretched so that writing them (the last
    one took `last_cost_s`) stays under CHECKPOINT_SHARE of the time; 0 (tests: every round) stays 0."""
    if CHECKPOINT_EVERY_S <= 0:
        return 0.0
    return max(CHECKPOINT_EVERY_S, last_cost_s / CHECKPOINT_SHARE)


# The last checkpoint's cost per cell shape (engine, protocol, repeats, learners, model) in this process:
# a later cell of the same shape starts with it instead of 0, so its first checkpoint also waits until
# the work it protects is 1/CHECKPOINT_SHARE times its cost. Without it every cell wrote one checkpoint
# at CHECKPOINT_EVERY_S: in the Fig. 4.4 preset, a 30-320 MB write in each ~10 s cell.
_LAST_COST: dict = {}


def _shape_key(engine_name: str, cfg, R: int) -> tuple:
    return engine_name, cfg.training.protocol, R, cfg.data.clients, repr(cfg.model)


def make_engine(name: str, problem):
    """The engine registered as `name` (tffnoise/algorithms/engine.py), built for `problem`."""
    return engines.build(name, problem)


def load_checkpoint(store: Store, run_id: str) -> dict | None:
    """The run's last checkpoint; None (start from round 0) when there is none or it is damaged, which
    is moved aside with a warning naming it rather than blocking the sweep."""
    p = store.run_dir(run_id) / "checkpoint.npz"
    if not p.exists():
        return None
    try:
        with np.load(p) as z:
            state = {k: z[k] for k in z.files}
        int(state["round"])
        return state
    except Exception as exc:  # BadZipFile, EOFError, OSError, ValueError, KeyError: all mean unreadable
        from tffnoise.runner.store import warn

        os.replace(p, p.with_name("checkpoint.npz.damaged"))
        warn(f"{p}: unreadable checkpoint ({type(exc).__name__}); run {run_id} restarts from round 0 "
             f"(kept as {p.name}.damaged)")
        return None


def save_checkpoint(store: Store, run_id: str, state: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, **state)
    write_bytes(store.run_dir(run_id) / "checkpoint.npz", buf.getvalue())


def chunk_rounds(t: int, rounds: int, eval_every: int, per_round_s: float | None) -> int:
    """How many rounds to run in one engine call after round t: up to the next evaluation (or the end),
    and about CHUNK_S of work, so progress, checkpoints and evaluation keep their cadence while a fast
    engine pays one call per chunk instead of one per round. The first call (it may compile) is 1 round."""
    if per_round_s is None:
        return 1
    n = min(rounds, (t // eval_every + 1) * eval_every) - t
    return max(1, min(n, int(CHUNK_S / max(per_round_s, 1e-9))))


def _f(x):
    x = float(x)
    return x if np.isfinite(x) else None


def execute_cell(specs, store: Store, engine_name: str, emit, dataset=None) -> None:
    from tffnoise.algorithms.problem import prepare
    from tffnoise.privacy.canaries import with_canaries

    cfg = specs[0].config
    t0 = time.time()
    tm = Timings()
    with tm.part("setup"):
        ckpts = [load_checkpoint(store, s.run_id) for s in specs]
        problem = with_canaries(prepare(cfg, [s.repeat for s in specs], dataset))  # privacy.audit: canaries in
        engine = make_engine(engine_name, problem)
    freeze_import_heap()  # TF/TFF are imported by now
    R = len(specs)
    start = 0
    if all(c is not None for c in ckpts):
        engine.set_state(engine.join_states(ckpts))
        start = engine.round
    from tffnoise.runner.divergence import DivergenceWatch

    watches = []
    for s in specs:
        store.truncate_metrics(s.run_id, start)
        watches.append(DivergenceWatch(cfg.training.divergence_factor, cfg.training.divergence_rounds,
                                       store.read_metrics(s.run_id)))
        store.update(s.run_id, status="running", rounds=problem.rounds, round=start, pid=os.getpid(), error=None)
    emit({"event": "cell_started", "runs": [s.run_id for s in specs], "round": start, "rounds": problem.rounds,
          "synthetic": problem.synthetic, "dataset": problem.description})
    from tffnoise.noise.schedules import applied
    from tffnoise.runner.privacy_eval import epsilon_curve

    eps = epsilon_curve(problem, engine)
    alive = np.ones(R, bool)
    diverged_at = [None] * R
    last_eval: dict = {}
    shape = _shape_key(engine_name, cfg, R)
    last_ckpt, ckpt_cost, ckpt_alive = time.time(), _LAST_COST.get(shape, 0.0), alive.copy()  # and at once when a run diverges
    eval_every = cfg.training.eval_every
    t = start
    per_round_s = None
    while t < problem.rounds and alive.any():
        n = chunk_rounds(t, problem.rounds, eval_every, per_round_s)
        tic = time.perf_counter()
        with tm.part("compile" if per_round_s is None else "train"):
            ms = engine.run_rounds(n)
        per_round_s = (time.perf_counter() - tic) / n
        for m in ms:
            t += 1
            noise_rec = applied(problem.mechanisms, t, problem.steps_per_round) if problem.mechanisms else None
            evaluated = t % eval_every == 0 or t == problem.rounds
            if evaluated:  # a chunk ends at an evaluation round, so the engine's models are this round's
                with tm.part("evaluate"):
                    last_eval = {**engine.evaluate("test"), **engine.evaluate("val")}
            for ri, s in enumerate(specs):
                if not alive[ri]:
                    continue
                if not m["finite"][ri]:
                    alive[ri] = False
                    diverged_at[ri] = t
                    store.append_metrics(s.run_id, {"round": t, "diverged": True, "reason": "non-finite loss or weights"})
                    emit({"event": "diverged", "run_id": s.run_id, "round": t})
                    continue
                row = {"round": t, **{k: _f(v[ri]) for k, v in m.items() if k != "finite"}}
                reason = watches[ri].update(row.get("train_loss"))
                if reason:  # finite but run away: recorded like an overflow, with its numbers
                    alive[ri] = False
                    diverged_at[ri] = t
                    store.append_metrics(s.run_id, {**row, "diverged": True, "reason": reason})
                    emit({"event": "diverged", "run_id": s.run_id, "round": t, "reason": reason})
                    continue
                if evaluated:
                    row.update({k: _f(v[ri]) for k, v in last_eval.items()})
                if eps is not None:
                    row["epsilon"] = _f(eps[t - 1])
                if noise_rec:
                    row["noise"] = noise_rec
                store.append_metrics(s.run_id, row)
            emit({"event": "round", "runs": [s.run_id for s in specs], "round": t, "rounds": problem.rounds,
                  "train_loss": _f(np.nanmean(m["train_loss"])),
                  "test_accuracy": _f(np.nanmean(last_eval["test_accuracy"])) if last_eval else None})
            if not alive.any():
                break
        now = time.time()
        # Not after the last round: the runs finish right after it (attacks, summary); a stop before
        # their summaries resumes from the previous checkpoint. It saved a model-sized write per run.
        if t < problem.rounds and (now - last_ckpt >= checkpoint_interval(ckpt_cost) or (alive != ckpt_alive).any()):
            tic = time.perf_counter()
            with tm.part("bookkeeping"):
                for ri, st in enumerate(engine.split_states(engine.get_state())):
                    if alive[ri]:
                        save_checkpoint(store, specs[ri].run_id, st)
                last_ckpt, ckpt_alive = now, alive.copy()
                for ri, s in enumerate(specs):
                    if alive[ri]:
                        store.update(s.run_id, round=t)
            ckpt_cost = _LAST_COST[shape] = time.perf_counter() - tic
    if not last_eval:  # resumed from a checkpoint taken at the last round
        with tm.part("evaluate"):
            last_eval = {**engine.evaluate("test"), **engine.evaluate("val")}
    from tffnoise.algorithms.dp import truncation_delta

    privacy = [{} for _ in specs]
    if cfg.privacy.membership_inference and alive.any():
        from tffnoise.runner.privacy_eval import membership_inference

        with tm.part("attacks"):
            privacy = membership_inference(problem, engine)
    for ri in range(R):
        if eps is not None:
            privacy[ri].update({"epsilon": _f(eps[-1]), "delta": cfg.privacy.delta,
                                "noise_multiplier": float(engine.noise_multiplier),
                                "accountant": cfg.privacy.accountant,
                                "delta_truncation": truncation_delta(cfg, problem, float(eps[-1]))})
    wall = time.time() - t0
    keras_model = []  # built once per cell, only if some run finished (its weights are set per run)
    with tm.part("bookkeeping"):  # summaries, members, saved models
        for ri, s in enumerate(specs):
            finish_run(store, s, engine, problem, ri, last_eval, diverged_at[ri], wall, emit, privacy[ri], keras_model)
    emit({"event": "cell_finished", "runs": [s.run_id for s in specs], "timings_s": tm.as_dict()})


def finish_run(store: Store, spec, engine, problem, ri: int, last_eval: dict, diverged_round, wall: float, emit,
               privacy: dict, keras_model: list) -> None:
    from tffnoise.runner import provenance

    hist = store.read_metrics(spec.run_id)
    last = hist[-1] if hist else {}
    final = {k: last.get(k) for k in ("train_loss", "train_accuracy", "cumulative_train_loss",
                                      "cumulative_train_loss_sum")}
    if diverged_round is None:
        final.update({k: _f(v[ri]) for k, v in last_eval.items()})
        if not keras_model:
            keras_model.append(problem.model_fn(0))
        _save_artifacts(store, spec, engine, problem, ri, keras_model[0])
    else:
        final.update({"test_accuracy": None, "test_loss": None})
    final["diverged_round"] = diverged_round
    if diverged_round is not None:
        final["diverged_reason"] = last.get("reason")
    if diverged_round is None:
        final.update(privacy)
    status = "done" if diverged_round is None else "diverged"
    summary = {"run_id": spec.run_id, "status": status, "final": final, "rounds": problem.rounds,
               "synthetic": problem.synthetic, "dataset": problem.description, "repeat": spec.repeat,
               "engine": engine.name, "device": getattr(engine, "device", None), "wall_s": wall, "peak_memory_mb": provenance.peak_memory_mb(),
               "noise": [m.describe() for m in problem.mechanisms],
               # Learners' partitions are cut to the smallest one (a seeded random subset each): how many
               # examples that dropped, 0 when they were equal.
               "partition_trimmed_examples": int(problem.trimmed[ri]) if problem.trimmed else 0}
    store.write_summary(spec.run_id, summary)
    store.update(spec.run_id, status=status, round=last.get("round", 0), test_accuracy=final.get("test_accuracy"),
                 test_loss=final.get("test_loss"), val_accuracy=final.get("val_accuracy"),
                 cumulative_train_loss=final.get("cumulative_train_loss"), diverged_round=diverged_round, wall_s=wall,
                 epsilon=final.get("epsilon"), mia_auc=final.get("mia_auc"))
    emit({"event": "run_finished", "run_id": spec.run_id, "status": status, "final": final,
          "synthetic": problem.synthetic})


def _save_artifacts(store: Store, spec, engine, problem, ri: int, model) -> None:
    d = store.run_dir(spec.run_id)
    buf = io.BytesIO()
    from tffnoise.algorithms.stacked import trained_examples

    # members: exactly the saved model's training examples (docs/privacy.md), as the attacks use them
    members = problem.member_ids[ri][trained_examples(problem, engine.selection)[ri]]
    np.savez(buf, member_ids=members, test_ids=problem.test_ids)
    write_bytes(d / "members.npz", buf.getvalue())
    model.set_weights(engine.final_weights(ri))
    tmp = d / ".model.tmp.keras"
    model.save(tmp)
    os.replace(tmp, d / "model.keras")
