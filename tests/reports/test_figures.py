"""The report figures, checked on their matplotlib objects: titles inside the canvas, one name for the clean
group, legends of what ran only, degenerate panels said in words, no offset notation, honest titles."""
from __future__ import annotations

import re

import pytest

from tffnoise.reports import figures as F
from tffnoise.records.groups import Grouping


def _texts(fig) -> list[str]:
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    out = [t.get_text() for lg in legends for t in lg.get_texts()]
    return out + [t.get_text() for ax in fig.axes for t in ax.texts]


def _all_figures(records):
    g = Grouping(records)
    figs = [F.figure_boxplot_test_accuracy(g, s) for s in g.setups]
    figs += [F.figure_cumulative_train_loss(g), F.figure_mechanisms_vs_level(g), F.figure_privacy_frontier(g)]
    return [f for f in figs if f is not None]


def test_box_plot_title_is_inside_the_canvas(make_run):
    long_setup = "periodic-averaging m=10 lr=0.05 clients=100 batch=32 + hidden/gaussian σ=0.5 schedule=sync"
    recs = [make_run(f"c{r}", long_setup, "periodic-averaging", "none", "", 0.0, r, 0.8 + 0.01 * r, 0.4)
            for r in range(3)]
    recs += [make_run(f"n{r}", long_setup, "periodic-averaging", "weights", "uniform", 0.5, r, 0.7, 0.5)
             for r in range(3)]
    g = Grouping(recs)
    fig = F.figure_boxplot_test_accuracy(g, g.setups[0])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.axes[0].title.get_window_extent(renderer)
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height, (box, fig.bbox)


def test_the_clean_group_has_one_name_everywhere(records):
    for fig in _all_figures(records):
        texts = _texts(fig)
        clean = [t for t in texts if "clean" in t.lower()]
        assert all(re.match(r"clean( \(|$|,)", t) for t in clean), clean
        assert not [t for t in texts if re.search(r"\bnone\b|σ=0(?![.\d])|reference", t)], texts


def test_legend_lists_only_what_ran(make_run):
    recs = [make_run(f"c{r}", "pa", "periodic-averaging", "none", "", 0.0, r, 0.8, 0.4) for r in range(3)]
    recs += [make_run(f"w{lv}{r}", "pa", "periodic-averaging", "weights", "uniform", lv, r, 0.7, 0.5)
             for lv in (0.5, 1.0) for r in range(3)]
    texts = _texts(F.figure_mechanisms_vs_level(Grouping(recs)))
    assert "federated" in texts and "centralized" not in texts
    assert "input" not in texts and "pa" not in texts  # no other mechanism; one setup needs no marker key


def test_panels_without_data_or_with_one_point_say_so(make_run):
    # one repeat per level: no paired SNR anywhere; one level and no clean run: one point per panel
    recs = [make_run("w1", "pa", "periodic-averaging", "weights", "uniform", 0.5, 0, 0.7, 0.5)]
    fig = F.figure_mechanisms_vs_level(Grouping(recs))
    notes = {ax.get_title(): [t.get_text() for t in ax.texts] for ax in fig.axes}
    assert any(n and n[0].startswith("no data: SNR") for n in notes.values()), notes
    assert not any(ax.axison for ax in fig.axes), "degenerate panels keep no axes"
    assert notes["Accuracy"] == ["one point only: x = 0.5, y = 0.7"], notes
    assert notes["Price of Anarchy"] == ["no data: no clean run to compare with"], notes


def test_poa_axis_has_no_offset_notation(make_run):
    recs = [make_run(f"c{r}", "pa", "periodic-averaging", "none", "", 0.0, r, 0.8, 1.0) for r in range(3)]
    recs += [make_run(f"w{lv}{r}", "pa", "periodic-averaging", "weights", "uniform", lv, r, 0.8, 1.0 + 1e-4 * lv)
             for lv in (1, 2, 3) for r in range(3)]
    fig = F.figure_mechanisms_vs_level(Grouping(recs))
    fig.canvas.draw()
    poa = next(ax for ax in fig.axes if ax.get_title() == "Price of Anarchy")
    assert poa.yaxis.get_major_formatter().get_offset() == ""


@pytest.mark.parametrize("eps", [None, 2.0])
def test_privacy_title_matches_what_it_shows(make_run, eps):
    recs = [make_run(f"d{r}", "dp", "dp-sgd", "gradient", "gaussian", 1.0, r, 0.7, 0.5, epsilon=eps, mia_auc=0.55)
            for r in range(3)]
    ax = F.figure_privacy_frontier(Grouping(recs)).axes[0]
    title = ax.get_title().replace("\n", " ")
    assert "membership-inference AUC" in title and "membership-inference AUC" in ax.get_xlabel()
    assert "accuracy" in title.lower() and "accuracy" in ax.get_ylabel()
    assert ("ε where accounted" in title) == (eps is not None)
    assert "frontier" not in title.lower()  # it draws means per group, no Pareto frontier is computed
