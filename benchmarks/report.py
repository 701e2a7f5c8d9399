"""The benchmark's tables: ratios within a group, each row's fraction of the machine's limits, the
targets of the performance issues (met / not met)."""
from __future__ import annotations

import workmodel


def add_ratios(rows: list[dict]) -> None:
    """Per group: the stacked row's end-to-end and steady examples/s over each other row's."""
    for g in {r["group"] for r in rows}:
        grp = [r for r in rows if r["group"] == g and not r.get("skipped")]
        ref = next((r for r in grp if r["system"] == "tffnoise stacked"), None)
        if ref is None:
            continue
        for r in grp:
            r["stacked_speedup_e2e"] = ref["ex_per_s"] / r["ex_per_s"]
            if r.get("steady_ex_per_s") and ref.get("steady_ex_per_s"):
                r["stacked_speedup_steady"] = ref["steady_ex_per_s"] / r["steady_ex_per_s"]


def add_fractions(rows: list[dict], lim: dict) -> None:
    for r in rows:
        if not r.get("skipped"):
            r.update(workmodel.fractions(r, lim))


def fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        if abs(v) >= 1e5:
            return f"{v / 1e3:,.0f}k"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.{digits}f}"
    return str(v)


COLUMNS = [("group", "group"), ("system", "system"), ("examples", "examples"), ("cold e2e s", "cold_e2e_s"),
           ("e2e s", "e2e_s"), ("startup s", "startup_s"), ("train s", "train_s"), ("eval s", "eval_s"),
           ("ex/s e2e", "ex_per_s"), ("ex/s steady", "steady_ex_per_s"), ("stacked × (e2e)", "stacked_speedup_e2e"),
           ("stacked × (steady)", "stacked_speedup_steady"), ("bound", "bound"),
           ("of limit (steady)", "fraction_steady"), ("of limit (e2e)", "fraction_e2e"),
           ("peak RSS MB", "peak_rss_mb"), ("Δ RSS MB", "rss_delta_mb"), ("pred. MB", "predicted_mb"),
           ("test acc", "test_accuracy")]


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(h for h, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        if r.get("skipped"):
            vals = [r["group"], r["system"], f"skipped: {r['skipped']}"] + ["–"] * (len(COLUMNS) - 3)
        else:
            vals = [fmt(int(r.get("examples", 0)) if key == "examples" else r.get(key)) for _, key in COLUMNS]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines)


def targets(rows: list[dict], quick: bool) -> list[dict]:
    """The issue's targets, each with the measured value and by how much it is met or missed."""
    out = []

    def add(name, value, goal, higher=True):
        if value is None:
            return
        ok = value >= goal if higher else value <= goal
        out.append({"target": name, "goal": goal, "measured": value, "met": bool(ok),
                    "factor": (value / goal) if higher else (goal / value)})

    for r in rows:
        if r.get("skipped"):
            continue
        if r["group"].startswith("SUSY m=10"):
            if r["system"] == "stock TFF fed_avg":
                add("stacked vs stock TFF, SUSY m=10 (e2e)", r["stacked_speedup_e2e"], 50)
            if r["system"] == "Keras fit B=10":
                add("stacked vs Keras B=10, SUSY m=10 (e2e)", r["stacked_speedup_e2e"], 20)
        if r["group"].startswith("MNIST-MLP") and r["system"] == "tffnoise stacked":
            add(f"{r['group']} stacked, fraction of the {r.get('bound', '?')} limit (steady)", r.get("fraction_steady"), 0.5)
        if r["group"].startswith("MNIST-MLP cell"):  # issue 21: the cell against one Keras model at batch 100
            keras = [k for k in rows if k["group"].startswith("MNIST-MLP m=") and k["system"] == "Keras fit B=100"]
            if keras and r.get("steady_ex_per_s"):
                add("MNIST-MLP cell vs Keras fit B=100 (steady ex/s)", r["steady_ex_per_s"] / keras[0]["steady_ex_per_s"], 1.0)
        if r["group"].startswith("MNIST-MLP") and r["system"] == "Keras fit B=100":
            add("MNIST-MLP stacked vs Keras fit B=100 (steady)", r.get("stacked_speedup_steady"), 1.0)
        if r["group"].startswith("cell"):
            add("examples/s with repeats stacked (cell, steady)", r.get("steady_ex_per_s"), 1e6)
            add("examples/s with repeats stacked (cell, e2e)", r.get("ex_per_s"), 1e6)
            add("10-repeat cell compute s (first round + rounds + eval)", r.get("compute_s"), 1.0, higher=False)
        if r["group"].startswith("cnn-small"):  # per source and width; a 3-client × 3-repeat cell
            cell = r["group"][len("cnn-small "):]
            if r["system"] == "tffnoise tff":
                add(f"stacked vs TFF engine, cnn-small {cell}, 3×3 cell (warm e2e)", r["stacked_speedup_e2e"], 3.0)
            if r["system"] == "Keras fit B=32":  # stacked ex/s over 9 models ≥ one Keras model's ÷ 1.5
                add(f"stacked total ex/s (9 models) / Keras fit B=32, cnn-small {cell} (steady)",
                    r.get("stacked_speedup_steady"), 1 / 1.5)
                add(f"stacked total ex/s (9 models) / Keras fit B=32, cnn-small {cell} (warm e2e)",
                    r["stacked_speedup_e2e"], 1 / 1.5)
        if r["group"] == "sweep":
            add("Fig. 4.3-sized sweep e2e s", r["e2e_s"], 120.0, higher=False)
        if r["group"] == "sweep Fig. 4.4 MNIST-MLP":  # issue 21: the paper preset end to end, attacks included
            add(f"Fig. 4.4 preset ≤ 5 min (s; {r['grid']})", r["preset_e2e_s"], 300.0, higher=False)
    return out


def targets_table(tg: list[dict]) -> str:
    lines = ["| target | goal | measured | met | factor (>1 = better than goal) |", "|---|---|---|---|---|"]
    lines += [f"| {t['target']} | {fmt(t['goal'])} | {fmt(t['measured'])} | {'yes' if t['met'] else 'NO'} | {t['factor']:.2f} |"
              for t in tg]
    return "\n".join(lines)
