"""The privacy–utility figure (`privacy_frontier.png`; docs/figures/dp-baseline-frontier.png is the DP
baseline's): test accuracy against each strong attack's TPR at 1% FPR, one panel per attack, one line per
family (a noise mechanism along σ, DP-SGD / DP-FedAvg along z), so accuracy at equal leakage is read across.
Issue 22 asks for TPR at low FPR here, after Carlini et al. 2022; AUC stays in the tables. A store whose
runs ran no strong attack has no TPR: the figure then plots the loss attack's AUC, and says so."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from tffnoise.records import runs as _rec
from tffnoise.records.groups import Grouping
from tffnoise.reports.figure_style import (MARKERS, color, mech_color, new_figure, plain_numbers, save_figure,
                                           title, wrap)
from tffnoise.reports.privacy_points import CLEAN, DP, MECHANISM, curves, privacy_points

CHANCE_TPR = 0.01   # a guessing attacker's TPR at 1% FPR
DP_COLORS = ["#000000", "#8c564b", "#e377c2", "#17becf"]


def _grouping(records) -> Grouping:
    return records if isinstance(records, Grouping) else Grouping(records)


def _synthetic(grouping: Grouping, synthetic: bool | None) -> bool:
    return _rec.is_synthetic(grouping.records) if synthetic is None else synthetic


def figure_privacy_frontier(records, *, synthetic: bool | None = None) -> Figure | None:
    """TPR@1%FPR panels where any done run has a strong attack's TPR, else the AUC figure; ``None`` when
    no done run has either."""
    grouping = _grouping(records)
    synthetic = _synthetic(grouping, synthetic)
    done = [r for runs in grouping.groups.values() for r in runs]
    attacks = _rec.attacks_run(done)
    if attacks:
        return _tpr_figure(grouping, attacks, synthetic)
    return _auc_figure(grouping, synthetic)


def plot_privacy_frontier(records, path: str | os.PathLike, *, synthetic: bool | None = None) -> Path | None:
    return save_figure(figure_privacy_frontier(records, synthetic=synthetic), path)


def _style(family: str, points, seen: dict[str, tuple]) -> tuple:
    if family not in seen:
        p = points[0]
        if p.kind == CLEAN:
            seen[family] = ("#777777", "*", "-")
        elif p.kind == DP:
            n = sum(1 for s in seen.values() if s[2] == "--")
            seen[family] = (DP_COLORS[n % len(DP_COLORS)], "s", "--")
        else:
            seen[family] = (mech_color(p.key.mechanism, len(seen)), MARKERS[len(seen) % len(MARKERS)], "-")
    return seen[family]


def _tpr_figure(grouping: Grouping, attacks: list[str], synthetic: bool) -> Figure:
    cols = min(3, len(attacks))
    rows = math.ceil(len(attacks) / cols)
    fig = new_figure(5.2 * cols + 2.5, 4.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    seen: dict[str, tuple] = {}
    any_below = False
    for ax, attack in zip(axes, attacks):
        points = privacy_points(grouping, attack)
        missing = sum(1 for p in points if not math.isfinite(p.tpr))
        clean_of = {p.key.setting_id: p for p in points if p.kind == CLEAN}
        for family, ps in curves(points).items():
            c, marker, ls = _style(family, ps, seen)
            start = clean_of.get(ps[0].key.clean_id) if ps[0].kind == MECHANISM else None
            if start is not None and math.isfinite(start.tpr):   # a mechanism's line starts at its clean setting
                ax.plot([start.tpr, ps[0].tpr], [start.acc, ps[0].acc], color=c, ls=":", lw=1)
            ax.errorbar([p.tpr for p in ps], [p.acc for p in ps], xerr=[p.tpr_sd for p in ps],
                        yerr=[p.acc_sd for p in ps], color=c, marker=marker, ls=ls, ms=6, capsize=2, lw=1.2)
            for p in ps:
                if p.kind == CLEAN:
                    continue
                below = "†" if p.below else ""
                any_below |= bool(p.below)
                name = "z" if p.kind == DP and p.key.is_clean else "σ"
                ax.annotate(f"{name}={p.level:g}{below}", (p.tpr, p.acc), textcoords="offset points",
                            xytext=(4, 3), fontsize=7, color=c)
        ax.axvline(CHANCE_TPR, color="#888888", ls=":", lw=1)
        ax.set_title(f"{_rec.ATTACK_LABELS[attack]}" + (f" ({missing} settings without it)" if missing else ""),
                     fontsize=10)
        ax.set_xlabel(f"{_rec.ATTACK_LABELS[attack]} TPR at 1% FPR (lower = more private)")
        ax.set_ylabel("final test accuracy")
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.1)
        plain_numbers(ax)
    for ax in axes[len(attacks):]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=c, marker=m, ls=ls, label=f) for f, (c, m, ls) in seen.items()]
    handles.append(Line2D([], [], color="#888888", ls=":", label="chance: TPR = FPR = 1%"))
    if any_below:
        handles.append(Line2D([], [], ls="", label="† some repeats below resolution (TPR < 1/n)"))
    fig.legend(handles=handles, loc="outside right center", fontsize=8)
    fig.suptitle(wrap(title("Test accuracy against membership-inference TPR at 1% FPR per setting (mean ± SD "
                            "over repeats; lines join each family's levels)", synthetic), 5.2 * cols, 11),
                 fontsize=11)
    return fig


def _auc_figure(grouping: Grouping, synthetic: bool) -> Figure | None:
    """Mean test accuracy against mean loss-attack AUC per group (error bars: SD over repeats); ε annotated
    where the runs report one."""
    pts = []
    for key, runs in grouping.groups.items():
        auc = _rec.metric_values(runs, "mia_auc")
        acc = _rec.metric_values(runs, "test_accuracy")
        if not auc or not acc:
            continue
        eps = _rec.metric_values(runs, "epsilon")
        pts.append((key, np.mean(auc), np.std(auc), np.mean(acc), np.std(acc), np.mean(eps) if eps else math.nan))
    if not pts:
        return None
    fig = new_figure(8.5, 5.5)
    ax = fig.add_subplot()
    setups = list(dict.fromkeys(p[0].setup for p in pts))
    for key, auc, auc_sd, acc, acc_sd, eps in pts:
        i = setups.index(key.setup)
        ax.errorbar(auc, acc, xerr=auc_sd, yerr=acc_sd, fmt=MARKERS[i % len(MARKERS)], color=color(i),
                    ms=6, capsize=2, lw=0.8)
        text = key.label() + (f", ε={eps:.2g}" if math.isfinite(eps) else "")
        ax.annotate(text, (auc, acc), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.axvline(0.5, color="#888888", ls=":", lw=1)
    ax.margins(x=0.2, y=0.1)
    handles = [Line2D([], [], color=color(i), marker=MARKERS[i % len(MARKERS)], ls="", label=s)
               for i, s in enumerate(setups)]
    handles.append(Line2D([], [], color="#888888", ls=":", label="AUC 0.5 = no membership leakage"))
    ax.legend(handles=handles, fontsize=8)
    ax.set_xlabel("membership-inference AUC (lower = more private)")
    ax.set_ylabel("final test accuracy")
    ax.grid(alpha=0.3)
    plain_numbers(ax)
    has_eps = any(math.isfinite(p[5]) for p in pts)
    ax.set_title(wrap(title("Test accuracy against membership-inference AUC per group (mean ± SD over repeats"
                            + ("; ε where accounted" if has_eps else "; no run accounted ε")
                            + "; no strong attack ran, so no TPR at 1% FPR)", synthetic), 8.5, 10), fontsize=10)
    return fig
