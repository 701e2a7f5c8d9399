"""Report figures (matplotlib, Agg canvas; pyplot is never imported, so no global backend is changed).

Each ``figure_*`` function takes run records and returns a ``Figure``, or ``None`` when there is nothing
to plot; ``plot_*`` writes it as a PNG atomically and returns the path (``None``, nothing written, for no
figure). Figures of a record set containing any synthetic run say SYNTHETIC in every title. The clean
group is called ``clean`` everywhere; legends list only what ran; a panel with no data or one point says
so in words (shared pieces in ``figure_style``).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from tffnoise.metrics.boxstats import box_stats, to_bxp
from tffnoise.metrics.stability import stability_table
from tffnoise.records import runs as _rec
from tffnoise.reports.figure_style import (CLEAN, MARKERS, SYNTHETIC_TAG, TUKEY_NOTE, color, finite_points,  # noqa: F401
                                           mech_color, new_figure, plain_numbers, save_figure, say_if_degenerate,
                                           title, wrap)
from tffnoise.records.groups import Grouping
# the privacy figure (TPR at 1% FPR against accuracy) lives in its own module; importable from here as before
from tffnoise.reports.privacy_figure import figure_privacy_frontier, plot_privacy_frontier  # noqa: F401


def _grouping(records) -> Grouping:
    return records if isinstance(records, Grouping) else Grouping(records)


def _synthetic(grouping: Grouping, synthetic: bool | None) -> bool:
    return _rec.is_synthetic(grouping.records) if synthetic is None else synthetic


# Paper 1, Figs. 4.1/4.3/4.4: test accuracy box plots per noise level and mechanism/distribution

def figure_boxplot_test_accuracy(records, setup: str, *, synthetic: bool | None = None) -> Figure | None:
    """Box plot of final test accuracy of ``setup``: x = the swept noise level, one box per line (setting
    without its level) at each level, the setup's clean reference setting as one box at level 0.
    Statistics from ``box_stats`` (Tukey)."""
    grouping = _grouping(records)
    synthetic = _synthetic(grouping, synthetic)
    keys = [k for k in grouping.groups if k.setup == setup]
    clean = _rec.metric_values(grouping.clean(keys[0]), "test_accuracy") if keys else []
    series: dict[str, dict[float, list[float]]] = defaultdict(dict)
    for key, runs in grouping.noisy().items():
        vals = _rec.metric_values(runs, "test_accuracy") if key.setup == setup else []
        if vals:
            series[key.line()][key.level] = vals
    if not clean and not series:
        return None
    levels = sorted({lv for s in series.values() for lv in s} | ({0.0} if clean else set()))
    names = sorted(series)
    k = max(1, len(names))
    width = 0.8 / k
    fig_w = max(6.5, 1.1 * len(levels) * k ** 0.5 + 3)
    fig = new_figure(fig_w, 4.8)
    ax = fig.add_subplot()
    handles = []
    if clean:
        ax.bxp([to_bxp(box_stats(clean))], positions=[levels.index(0.0)], widths=min(0.6, 0.8 / k * 1.5),
               patch_artist=True, showmeans=False, manage_ticks=False,
               boxprops=dict(facecolor="#dddddd", edgecolor="#333333"), medianprops=dict(color="black"),
               flierprops=dict(marker="o", markersize=4, markerfacecolor="#333333", markeredgecolor="none"))
        handles.append(Patch(facecolor="#dddddd", edgecolor="#333333", label=f"{CLEAN} (n={len(clean)})"))
    for j, name in enumerate(names):
        c = color(j)
        stats, pos = [], []
        for lv, vals in sorted(series[name].items()):
            stats.append(to_bxp(box_stats(vals)))
            pos.append(levels.index(lv) - 0.4 + width * (j + 0.5))
        ax.bxp(stats, positions=pos, widths=width * 0.85, patch_artist=True, manage_ticks=False,
               boxprops=dict(facecolor=c, alpha=0.55, edgecolor=c), medianprops=dict(color="black"),
               whiskerprops=dict(color=c), capprops=dict(color=c),
               flierprops=dict(marker="o", markersize=4, markerfacecolor=c, markeredgecolor="none"))
        handles.append(Patch(facecolor=c, alpha=0.55, edgecolor=c, label=name))
    ax.set_xticks(range(len(levels)), [f"{lv:g}" for lv in levels])
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_xlabel("noise level σ")
    ax.set_ylabel("final test accuracy")
    ax.grid(axis="y", alpha=0.3)
    plain_numbers(ax)
    # the title spans the axes only (the legend takes the right): wrapped to the axes' share of the width
    ax.set_title(wrap(title(f"Test accuracy per noise level – {setup}", synthetic) + f"\n{TUKEY_NOTE}",
                      fig_w * 0.6, 9), fontsize=9)
    ax.legend(handles=handles, title="setting (without level)", fontsize=8, title_fontsize=8,
              loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def plot_boxplot_test_accuracy(records, setup: str, path: str | os.PathLike,
                               *, synthetic: bool | None = None) -> Path | None:
    return save_figure(figure_boxplot_test_accuracy(records, setup, synthetic=synthetic), path)


# Paper 1, Fig. 4.2: cumulative training loss per round

def _cumulative_curve(rec: dict) -> tuple[list[float], list[float]]:
    xs, ys = _rec.history_series(rec, "cumulative_train_loss")
    if xs:
        return xs, ys
    xs, ys = _rec.history_series(rec, "train_loss")
    return xs, list(np.cumsum(ys)) if ys else []


def _mean_curve(runs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    by_round: dict[float, list[float]] = defaultdict(list)
    for r in runs:
        for x, y in zip(*_cumulative_curve(r)):
            by_round[x].append(y)
    xs = np.array(sorted(by_round))
    vals = [by_round[x] for x in xs]
    return (xs, np.array([np.mean(v) for v in vals]), np.array([np.min(v) for v in vals]),
            np.array([np.max(v) for v in vals]))


def figure_cumulative_train_loss(records, *, synthetic: bool | None = None) -> Figure | None:
    """Mean cumulative training loss per round (band: min–max over repeats), one panel per setup, one
    line per group. Uses ``cumulative_train_loss`` from the history, or the running sum of
    ``train_loss`` when only that is recorded."""
    grouping = _grouping(records)
    synthetic = _synthetic(grouping, synthetic)
    per_setup: dict[str, list] = defaultdict(list)
    for key, runs in grouping.groups.items():
        xs, mean, lo, hi = _mean_curve(runs)
        if xs.size:
            per_setup[key.setup].append((key, len(runs), xs, mean, lo, hi))
    if not per_setup:
        return None
    n = len(per_setup)
    cols = min(2, n)
    rows = math.ceil(n / cols)
    fig = new_figure(7.5 * cols, 4.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (setup, lines) in zip(axes, per_setup.items()):
        ax.set_title(setup, fontsize=10)
        for j, (key, nrun, xs, mean, lo, hi) in enumerate(lines):
            c = "#333333" if key.is_clean else color(j)
            ax.plot(xs, mean, color=c, lw=1.6, label=f"{key.label()} (n={nrun})", ls="--" if key.is_clean else "-")
            if nrun > 1:
                ax.fill_between(xs, lo, hi, color=c, alpha=0.12, lw=0)
        if say_if_degenerate(ax, max(len(line[2]) for line in lines), "no round recorded"):
            continue
        ax.set_xlabel("round")
        ax.set_ylabel("cumulative training loss")
        ax.grid(alpha=0.3)
        plain_numbers(ax)
        ax.legend(fontsize=7, ncol=1 if len(lines) <= 8 else 2)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title("Cumulative training loss per round (mean over repeats, band min–max)", synthetic))
    return fig


def plot_cumulative_train_loss(records, path: str | os.PathLike, *, synthetic: bool | None = None) -> Path | None:
    return save_figure(figure_cumulative_train_loss(records, synthetic=synthetic), path)


# Paper 2: accuracy, PoS, PoA, SNR versus noise level per mechanism

_PANELS = [("test_accuracy", "mean final test accuracy", "Accuracy"),
           ("pos", "PoS = acc(σ) / acc(σ₀)", "Price of Stability"),
           ("poa", "PoA = loss(σ) / loss(σ₀)", "Price of Anarchy"),
           ("snr_db", "SNR [dB]", "SNR (selection metric in summary.md)")]
_WHY_EMPTY = {"snr_db": "SNR needs two or more paired repeats at a level > 0",
              "pos": "no clean run to compare with", "poa": "no clean run to compare with"}


def figure_mechanisms_vs_level(records, *, rows: list[dict] | None = None,
                               synthetic: bool | None = None) -> Figure | None:
    """Four panels (mean test accuracy, PoS, PoA, paired SNR) against the swept noise level. One line per
    (setup, line): colour = mechanism, solid = centralized, dashed = federated, marker = setup.
    Accuracy/PoS/PoA lines start at the clean reference (level 0, drawn as a grey star); SNR exists for
    levels > 0 only."""
    grouping = _grouping(records)
    synthetic = _synthetic(grouping, synthetic)
    rows = stability_table(grouping) if rows is None else rows
    noisy = [r for r in rows if not r["key"].is_clean]
    if not noisy:
        return None
    setup_order = grouping.setups
    lines: dict[tuple, list[dict]] = defaultdict(list)
    for r in noisy:
        lines[(r["setup"], r["mechanism"], r["key"].line())].append(r)
    fig = new_figure(13, 8.5)
    axes = fig.subplots(2, 2).ravel()
    mech_seen: dict[str, None] = {}
    styles_seen: set[bool] = set()
    points = [0] * len(_PANELS)
    clean_drawn = False
    for (setup, mech, _line), pts in lines.items():
        pts = sorted(pts, key=lambda r: r["level"])
        fed = bool(pts[0]["federated"])
        styles_seen.add(fed)
        c = mech_color(mech, len(mech_seen))
        mech_seen.setdefault(mech, None)
        marker = MARKERS[setup_order.index(setup) % len(MARKERS)] if setup in setup_order else "o"
        clean = _rec.metric_values(grouping.clean(pts[0]["key"]), "test_accuracy")
        for i, (ax, (field, _ylabel, _t)) in enumerate(zip(axes, _PANELS)):
            xs = [r["level"] for r in pts]
            ys = [r[field] if r[field] is not None and math.isfinite(r[field]) else np.nan for r in pts]
            if field != "snr_db" and clean:
                ref = {"test_accuracy": float(np.mean(clean)), "pos": 1.0, "poa": 1.0}[field]
                xs, ys = [0.0] + xs, [ref] + ys
                ax.plot([0.0], [ref], marker="*", ms=9, color="#777777", ls="", zorder=3)
                clean_drawn = True
            ax.plot(xs, ys, color=c, ls="--" if fed else "-", marker=marker, ms=5, lw=1.5)
            points[i] += finite_points(xs, ys)
    for ax, n, (field, ylabel, t) in zip(axes, points, _PANELS):
        ax.set_title(title(t, synthetic), fontsize=10)
        if say_if_degenerate(ax, n, _WHY_EMPTY.get(field, "no finite value at any level")):
            continue
        ax.set_xlabel("noise level σ")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        plain_numbers(ax)
        if field in ("pos", "poa"):
            ax.axhline(1.0, color="#888888", lw=0.8)
    handles = [Line2D([], [], color=mech_color(m, i), lw=2, label=m) for i, m in enumerate(mech_seen)]
    if clean_drawn:
        handles.append(Line2D([], [], color="#777777", marker="*", ms=9, ls="", label=f"{CLEAN} (σ = 0)"))
    handles += [Line2D([], [], color="black", ls="--" if fed else "-", label="federated" if fed else "centralized")
                for fed in sorted(styles_seen)]
    if len({k[0] for k in lines}) > 1:  # one setup: the marker tells nothing
        handles += [Line2D([], [], color="black", ls="", marker=MARKERS[i % len(MARKERS)], label=s)
                    for i, s in enumerate(setup_order) if any(k[0] == s for k in lines)]
    fig.legend(handles=handles, loc="outside right center", fontsize=8)
    fig.suptitle(title("Noise mechanisms versus noise level (means over done runs)", synthetic))
    return fig


def plot_mechanisms_vs_level(records, path: str | os.PathLike, *, rows: list[dict] | None = None,
                             synthetic: bool | None = None) -> Path | None:
    return save_figure(figure_mechanisms_vs_level(records, rows=rows, synthetic=synthetic), path)

