"""``build_report``: figures and a Markdown summary for a set of run records.

Definitions of every number are in docs/metrics.md.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from tffnoise.metrics.significance import ALPHA, bootstrap_ci, compare_to_clean, repeats_needed
from tffnoise.metrics.snr import select_level
from tffnoise.metrics.stability import stability_table
from tffnoise.reports import records as _rec
from tffnoise.runner.atomic import write_text
from tffnoise.reports.tables import fmt, fmt_ci, fmt_p, markdown_table

SYNTHETIC_BANNER = ("> **⚠ SYNTHETIC** – at least one run in this report is synthetic (generated data, not a "
                    "real training run). Do not cite these numbers as results.")

HOW_TO_READ = """\
**How to read this.** Each row is one group (setup × mechanism × distribution × noise level σ); only runs
that finished (`done`) enter the statistics. *Mean* is the mean final test accuracy over repeats with a 95 %
percentile-bootstrap CI of that mean (10 000 resamples, seed 0); with n < 2 there is no CI. Every noisy
group is compared with the setup's **clean reference** (all done level-0 runs of the setup, pooled).
**PoS** = mean test accuracy(σ) / mean test accuracy(clean): above 1 the noise *helped*. **PoA** = mean test
loss(σ) / mean test loss(clean) (paper 2 prints accuracy in the denominator, a typo): above 1 the noise *hurt*
the loss. **SNR** = 10·log10(ā₀² / mean over runs of (a − ā₀)²) on validation accuracy where every run has
one, else test accuracy: how far the noise moves the outcome relative to the clean accuracy; the clean row
shows the *floor* set by seed-to-seed spread alone, and a level close to it is indistinguishable from clean.
**g** is Hedges' g (standardised difference to clean; |g| ≈ 0.2 small, 0.5 medium, 0.8 large). The two
p-values (Welch t, Mann–Whitney U, two-sided) are Holm-adjusted within the setup; **✱** marks a group where
*both* adjusted p-values are below 0.05. A missing mark is not evidence of no effect: check the CI width and
the "repeats needed" line. The noise level per mechanism is *selected* on validation data (max SNR) and its
*test* accuracy is reported; when no validation metric exists the selection used test data and is optimistic.
"""


def _mean(vals: list[float]) -> float:
    return float(np.mean(vals)) if vals else math.nan


def _group_name(mechanism: str, distribution: str, level: float) -> str:
    if level == 0 or mechanism == "none":
        return "clean (pooled level 0)"
    return f"{mechanism}/{distribution}" if distribution else mechanism


def _setup_section(records: list[dict], setup: str, stab: list[dict], comp: list[dict]) -> list[str]:
    protocol = _rec.protocol_of_setup(records, setup)
    kind = "federated" if _rec.is_federated(protocol) else "centralized"
    out = [f"## {setup}", "", f"Protocol `{protocol or '?'}` ({kind})."]
    clean = _rec.clean_runs(records, setup)
    clean_acc = _rec.metric_values(clean, "test_accuracy")
    if not clean_acc:
        out.append("**No clean (level-0) run finished for this setup**: PoS, PoA, SNR, effect sizes and p-values "
                   "are undefined (–).")
    out.append("")
    comp_by = {(r["mechanism"], r["distribution"], r["level"]): r for r in comp if r["setup"] == setup}
    headers = ["group", "σ", "n", "mean test acc", "95% CI", "median", "PoS", "PoA", "SNR dB", "g",
               "p Welch (Holm)", "p MWU (Holm)", "sig."]
    rows = []
    srows = [r for r in stab if r["setup"] == setup]
    # clean reference first, as one pooled row
    if clean_acc:
        lo, hi = bootstrap_ci(clean_acc)
        floor = next((r["snr_db"] for r in srows if r["level"] == 0 or r["mechanism"] == "none"), math.nan)
        rows.append(["clean (pooled level 0)", "0", len(clean_acc), fmt(_mean(clean_acc)), fmt_ci(lo, hi),
                     fmt(float(np.median(clean_acc))), "1", "1", fmt(floor, 2) + " (floor)", "", "", "", ""])
    for r in srows:
        if r["level"] == 0 or r["mechanism"] == "none":
            continue
        c = comp_by.get((r["mechanism"], r["distribution"], r["level"]), {})
        rows.append([_group_name(r["mechanism"], r["distribution"], r["level"]), f"{r['level']:g}", c.get("n", r["n"]),
                     fmt(c.get("mean", r["test_accuracy"])), fmt_ci(c.get("ci_low"), c.get("ci_high")),
                     fmt(c.get("median")), fmt(r["pos"]), fmt(r["poa"]), fmt(r["snr_db"], 2), fmt(c.get("hedges_g"), 2),
                     fmt_p(c.get("p_welch_holm")), fmt_p(c.get("p_mwu_holm")), "✱" if c.get("significant") else ""])
    if rows:
        out.append(markdown_table(headers, rows, align="lrrrlrrrrrrrc"))
    else:
        out.append("_No finished runs._")
    paired = [r for r in srows if r["level"] != 0 and r["mechanism"] != "none" and r["n_paired"] > 0]
    if paired:
        out += ["", "Paired by repeat index (mean of per-repeat ratios, where repeats align with clean runs): "
                + "; ".join(f"{_group_name(r['mechanism'], r['distribution'], r['level'])} σ={r['level']:g}: "
                            f"PoS {fmt(r['pos_paired'])}, PoA {fmt(r['poa_paired'])} (n={r['n_paired']})"
                            for r in paired) + "."]
    mechs = list(dict.fromkeys(r["mechanism"] for r in srows if r["level"] != 0 and r["mechanism"] != "none"))
    if mechs:
        out += ["", "**Noise level selected by maximum SNR** (selection metric stated; test accuracy reported):", ""]
        for mech in mechs:
            choice = select_level(records, setup, mech)
            out.append(f"- {mech}: {choice.describe()}")
    if len(clean_acc) >= 2:
        sd = float(np.std(clean_acc, ddof=1))
        if sd > 0:
            n1, n2 = repeats_needed(0.01, sd), repeats_needed(0.02, sd)
            out += ["", f"Repeats needed per arm (power 0.8, α 0.05, clean SD {sd:.4f}): {n1} to detect a 1-point "
                        f"accuracy difference, {n2} for 2 points (this setup has {len(clean_acc)} clean runs)."]
    out.append("")
    return out


def _diverged_section(records: list[dict]) -> list[str]:
    div = _rec.diverged_runs(records)
    counts = _rec.status_counts(records)
    out = ["## Runs not in the statistics", ""]
    other = {k: v for k, v in counts.items() if k != _rec.DONE}
    if not other:
        return out + ["All runs finished (`done`).", ""]
    out.append("Counts: " + ", ".join(f"{k} {v}" for k, v in sorted(other.items())) + ".")
    if div:
        out += ["", "Diverged runs:", ""]
        rows = []
        for r in div:
            key = _rec.group_key(r)
            rnd = (r.get("final") or {}).get("diverged_round")
            if rnd is None and r.get("history"):
                rnd = (r["history"][-1] or {}).get("round")
            rows.append([r.get("run_id", "?"), key.setup, _group_name(key.mechanism, key.distribution, key.level),
                         f"{key.level:g}", r.get("repeat", ""), "?" if rnd is None else rnd])
        out.append(markdown_table(["run", "setup", "group", "σ", "repeat", "diverged at round"], rows))
    out.append("")
    return out


def _dp_section(records: list[dict]) -> list[str]:
    rows = []
    for key, runs in _rec.group_records(records).items():
        eps = _rec.metric_values(runs, "epsilon")
        auc = _rec.metric_values(runs, "mia_auc")
        if not eps and not auc:
            continue
        acc = _rec.metric_values(runs, "test_accuracy")
        rows.append([key.setup, runs[0].get("protocol", ""), _group_name(key.mechanism, key.distribution, key.level),
                     f"{key.level:g}", len(runs), fmt(_mean(acc)), fmt(_mean(eps), 3) if eps else "–",
                     fmt(_mean(auc), 3) if auc else "–"])
    if not rows:
        return []
    return ["## Privacy comparison", "",
            "Mean over done runs. ε: the (ε, δ) accountant's ε where the protocol reports one; MIA AUC: "
            "membership-inference attack AUC (0.5 = attacker cannot tell members from non-members).", "",
            markdown_table(["setup", "protocol", "group", "σ", "n", "test acc", "ε", "MIA AUC"], rows,
                           align="lllrrrrr"), ""]


def _summary_markdown(records: list[dict], figures: list[Path], synthetic: bool) -> str:
    stab = stability_table(records)
    comp = compare_to_clean(records)
    counts = _rec.status_counts(records)
    out: list[str] = []
    if synthetic:
        out += [SYNTHETIC_BANNER, ""]
    out += [("# SYNTHETIC – " if synthetic else "# ") + "tffnoise report", ""]
    out.append(f"{len(records)} runs ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'}); "
               f"{len(_rec.setups(records))} setups. Significance level α = {ALPHA} after Holm correction.")
    out += ["", HOW_TO_READ]
    for setup in _rec.setups(records):
        out += _setup_section(records, setup, stab, comp)
    out += _dp_section(records)
    out += _diverged_section(records)
    if figures:
        out += ["## Figures", ""] + [f"- [{p.name}]({p.name})" for p in figures] + [""]
    return "\n".join(out).rstrip() + "\n"


def build_report(records: Iterable[dict], out_dir: str | os.PathLike) -> dict:
    """Write the figures and ``summary.md`` for ``records`` into ``out_dir`` (created if missing).

    Figures (each skipped when there is nothing to plot): ``boxplot_test_accuracy_<setup>.png`` per
    setup, ``cumulative_train_loss.png``, ``mechanisms_vs_level.png``, ``privacy_frontier.png`` (only
    when some run has a MIA AUC). Every write is atomic (temp file + ``os.replace``).

    Returns ``{"figures": [paths], "summary": path, "skipped": [names not drawn]}``.
    """
    from tffnoise.reports import figures as _fig  # matplotlib only when a report is built

    records = [r for r in records if isinstance(r, dict)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    synthetic = _rec.is_synthetic(records)
    figures: list[Path] = []
    skipped: list[str] = []

    def add(name: str, path):
        (figures if path is not None else skipped).append(path if path is not None else name)

    used = set()
    for setup in _rec.setups(records):
        name = f"boxplot_test_accuracy_{_rec.slug(setup)}"
        base, i = name, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        add(name + ".png", _fig.plot_boxplot_test_accuracy(records, setup, out / f"{name}.png", synthetic=synthetic))
    add("cumulative_train_loss.png", _fig.plot_cumulative_train_loss(records, out / "cumulative_train_loss.png",
                                                                     synthetic=synthetic))
    add("mechanisms_vs_level.png", _fig.plot_mechanisms_vs_level(records, out / "mechanisms_vs_level.png",
                                                                 synthetic=synthetic))
    if any(math.isfinite(_rec.final_metric(r, "mia_auc")) for r in records):
        add("privacy_frontier.png", _fig.plot_privacy_frontier(records, out / "privacy_frontier.png",
                                                               synthetic=synthetic))
    summary = out / "summary.md"
    write_text(summary, _summary_markdown(records, figures, synthetic))
    return {"figures": [str(p) for p in figures], "summary": str(summary), "skipped": skipped}
