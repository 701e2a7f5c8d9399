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
from tffnoise.records import groups as _groups
from tffnoise.records import runs as _rec
from tffnoise.runner.atomic import write_text
from tffnoise.reports.privacy_tables import privacy_sections
from tffnoise.reports.tables import fmt, fmt_ci, fmt_p, markdown_table

SYNTHETIC_BANNER = ("> **⚠ SYNTHETIC** – at least one run in this report is synthetic (generated data, not a "
                    "real training run). Do not cite these numbers as results.")

HOW_TO_READ = """\
**How to read this.** Each row is one *setting* (runs that differ only by repeat index/seed); settings are
never pooled. A section is a *setup*: the settings that share one **clean reference**, the setting
identical in everything (learning rate, protocol, privacy ...) except that every noise mechanism is off;
its label shows what differs between setups, a row's label what differs inside the setup. Only runs that
finished (`done`) enter the statistics. *Mean* is the mean final test accuracy over repeats with a 95 %
percentile-bootstrap CI of that mean (10 000 resamples, seed 0); with n < 2 there is no CI.
**PoS** = mean test accuracy(σ) / mean test accuracy(clean): above 1 the noise *helped*. **PoA** = mean test
loss(σ) / mean test loss(clean) (paper 2 prints accuracy in the denominator, a typo): above 1 the noise *hurt*
the loss. **SNR** is paper 2's 10·log10(signal variance / noise variance), per repeat over the evaluation
rounds: the variance of the noisy run's validation accuracy curve over the variance of its difference from
the clean run with the same seed (the test curve where there is no validation set); mean over repeats with
a Student-t 95 % CI. **Δ paired** is the mean over repeats of (noisy − clean) final test accuracy, same seed,
with its 95 % t CI: when it contains 0 the level is *indistinguishable from clean*.
**g** is Hedges' g (standardised difference to clean; |g| ≈ 0.2 small, 0.5 medium, 0.8 large). The two
p-values (Welch t, Mann–Whitney U, two-sided) are Holm-adjusted within the setup; **✱** marks a group where
*both* adjusted p-values are below 0.05. A missing mark is not evidence of no effect: check the CI width and
the "repeats needed" line. The noise level of each line is *selected* by maximum mean SNR on the validation
curve and its *test* accuracy is reported; without a validation curve the selection used test data and is
optimistic. Definitions: docs/metrics.md.
"""


def _mean(vals: list[float]) -> float:
    return float(np.mean(vals)) if vals else math.nan


def _snr_cell(r: dict) -> tuple[str, str]:
    if r["snr_n"] == 0:
        return "–", "–"
    return fmt(r["snr_db"], 2), fmt_ci(r["snr_ci_low"], r["snr_ci_high"], 2)


def _diff_cell(r: dict) -> str:
    if r["diff_n"] == 0:
        return "–"
    ci = fmt_ci(r["diff_ci_low"], r["diff_ci_high"])
    return f"{r['diff_mean']:+.4f} {ci}" if ci != "–" else f"{r['diff_mean']:+.4f}"


def _setup_section(grouping: _groups.Grouping, setup: str, stab: list[dict], comp: list[dict]) -> list[str]:
    protocol = grouping.protocol(setup)
    kind = "federated" if _rec.is_federated(protocol) else "centralized"
    out = [f"## {setup}", "", f"Protocol `{protocol or '?'}` ({kind})."]
    srows = [r for r in stab if r["setup"] == setup]
    any_key = next((r["key"] for r in srows), None)
    clean_runs = grouping.clean(any_key) if any_key is not None else []
    clean_acc = _rec.metric_values(clean_runs, "test_accuracy")
    if not clean_acc:
        out.append("**No run of this setup's clean reference finished** (the same setting with the noise off): "
                   "PoS, PoA, SNR, Δ, effect sizes and p-values are undefined (–).")
    out.append("")
    comp_by = {r["key"]: r for r in comp if r["setup"] == setup}
    headers = ["group", "σ", "n", "mean test acc", "95% CI", "median", "PoS", "PoA", "SNR dB", "SNR 95% CI",
               "Δ paired [95% CI]", "g", "p Welch (Holm)", "p MWU (Holm)", "sig."]
    rows = []
    if clean_acc:
        lo, hi = bootstrap_ci(clean_acc)
        rows.append(["clean", "0", len(clean_acc), fmt(_mean(clean_acc)), fmt_ci(lo, hi),
                     fmt(float(np.median(clean_acc))), "1", "1", "–", "–", "–", "", "", "", ""])
    for r in srows:
        if r["key"].is_clean:
            continue
        c = comp_by.get(r["key"], {})
        snr, snr_ci = _snr_cell(r)
        rows.append([r["key"].line(), f"{r['level']:g}", c.get("n", r["n"]),
                     fmt(c.get("mean", r["test_accuracy"])), fmt_ci(c.get("ci_low"), c.get("ci_high")),
                     fmt(c.get("median")), fmt(r["pos"]), fmt(r["poa"]), snr, snr_ci, _diff_cell(r),
                     fmt(c.get("hedges_g"), 2), fmt_p(c.get("p_welch_holm")), fmt_p(c.get("p_mwu_holm")),
                     "✱" if c.get("significant") else ""])
    if rows:
        out.append(markdown_table(headers, rows, align="lrrrlrrrrlrrrrc"))
    else:
        out.append("_No finished runs._")
    paired = [r for r in srows if not r["key"].is_clean and r["n_paired"] > 0]
    if paired:
        out += ["", "Paired by repeat index (mean of per-repeat ratios, each noisy run over the clean run with the "
                "same seed): " + "; ".join(f"{r['key'].label()}: PoS {fmt(r['pos_paired'])}, PoA "
                                            f"{fmt(r['poa_paired'])} (n={r['n_paired']})" for r in paired) + "."]
    lines = list(dict.fromkeys((r["mechanism"], r["distribution"], r["series"]) for r in srows
                               if not r["key"].is_clean))
    if lines:
        out += ["", "**Noise level selected by maximum SNR** per line (SNR curve stated; test accuracy reported; "
                "Δ = paired difference of final test accuracy from clean):", ""]
        for mech, dist, series in lines:
            choice = select_level(grouping, setup, mech, dist, series)
            name = _groups.GroupKey(setup, mech, dist, 0.0, series).line()
            out.append(f"- {name}: {choice.describe(line=False)}")
    if len(clean_acc) >= 2:
        sd = float(np.std(clean_acc, ddof=1))
        if sd > 0:
            n1, n2 = repeats_needed(0.01, sd), repeats_needed(0.02, sd)
            out += ["", f"Repeats needed per arm (power 0.8, α 0.05, clean SD {sd:.4f}): {n1} to detect a 1-point "
                        f"accuracy difference, {n2} for 2 points (this setup has {len(clean_acc)} clean runs)."]
    out.append("")
    return out


def _diverged_section(grouping: _groups.Grouping) -> list[str]:
    records = grouping.records
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
            key = grouping.key(r)
            rnd = (r.get("final") or {}).get("diverged_round")
            if rnd is None and r.get("history"):
                rnd = (r["history"][-1] or {}).get("round")
            rows.append([r.get("run_id", "?"), key.setup, key.line(), f"{key.level:g}", r.get("repeat", ""),
                         "?" if rnd is None else rnd])
        out.append(markdown_table(["run", "setup", "group", "σ", "repeat", "diverged at round"], rows))
    out.append("")
    return out


def _summary_markdown(grouping: _groups.Grouping, figures: list[Path], synthetic: bool) -> str:
    records = grouping.records
    stab = stability_table(grouping)
    comp = compare_to_clean(grouping)
    counts = _rec.status_counts(records)
    out: list[str] = []
    if synthetic:
        out += [SYNTHETIC_BANNER, ""]
    out += [("# SYNTHETIC – " if synthetic else "# ") + "tffnoise report", ""]
    out.append(f"{len(records)} runs ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none'}); "
               f"{len(grouping.setups)} setups, {len(grouping.groups)} settings with finished runs. "
               f"Significance level α = {ALPHA} after Holm correction.")
    out += ["", HOW_TO_READ]
    for setup in grouping.setups:
        out += _setup_section(grouping, setup, stab, comp)
    out += privacy_sections(grouping)
    out += _diverged_section(grouping)
    if figures:
        out += ["## Figures", ""] + [f"- [{p.name}]({p.name})" for p in figures] + [""]
    return "\n".join(out).rstrip() + "\n"


def build_report(records: Iterable[dict], out_dir: str | os.PathLike) -> dict:
    """Write the figures and ``summary.md`` for ``records`` into ``out_dir`` (created if missing).

    Figures (each skipped when there is nothing to plot): ``boxplot_test_accuracy_<setup>.png`` per
    setup, ``cumulative_train_loss.png``, ``mechanisms_vs_level.png``, ``privacy_frontier.png`` (only
    when some run has a MIA AUC or a strong attack's TPR at 1% FPR). Every write is atomic (temp file + ``os.replace``).

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

    grouping = _groups.Grouping(records)
    used = set()
    for setup in grouping.setups:
        name = f"boxplot_test_accuracy_{_rec.slug(setup)}"
        base, i = name, 2
        while name in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name)
        add(name + ".png", _fig.plot_boxplot_test_accuracy(grouping, setup, out / f"{name}.png", synthetic=synthetic))
    add("cumulative_train_loss.png", _fig.plot_cumulative_train_loss(grouping, out / "cumulative_train_loss.png",
                                                                     synthetic=synthetic))
    add("mechanisms_vs_level.png", _fig.plot_mechanisms_vs_level(grouping, out / "mechanisms_vs_level.png",
                                                                 synthetic=synthetic))
    if any(math.isfinite(_rec.final_metric(r, "mia_auc")) for r in records) or _rec.attacks_run(records):
        add("privacy_frontier.png", _fig.plot_privacy_frontier(grouping, out / "privacy_frontier.png",
                                                               synthetic=synthetic))
    summary = out / "summary.md"
    write_text(summary, _summary_markdown(grouping, figures, synthetic))
    return {"figures": [str(p) for p in figures], "summary": str(summary), "skipped": skipped}
