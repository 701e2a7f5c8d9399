"""Results shows the strong attacks' TPR at 1% FPR beside the MIA AUC (runs table and DP tab), read from
each run's summary.json (issue 22: "the TUI's Results shows TPR@1%FPR beside AUC")."""
from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tffnoise.runner.store import Store

from .conftest import make_app

pytestmark = pytest.mark.timeout(60)

FINALS = {"dp000bbbbbbb": {"mia_lira_tpr_at_1fpr": 0.085, "mia_lira_tpr_at_1fpr_below_resolution": False,
                           "mia_rmia_tpr_at_1fpr": 0.0005, "mia_rmia_tpr_at_1fpr_below_resolution": True},
          "dp001bbbbbbb": {"mia_lira_tpr_at_1fpr": 0.065, "mia_rmia_tpr_at_1fpr": 0.041,
                           "audit_epsilon_lower": 0.25}}


@pytest.fixture
def privacy_store(store_root):
    store = Store(store_root, create=False)
    for rid, final in FINALS.items():
        store.write_summary(rid, {"final": final})
    store.close()
    return store_root


def _column(table: DataTable, label: str) -> int:
    names = [str(c.label).rstrip(" ▲▼") for c in table.columns.values()]
    return names.index(label)


async def test_runs_table_and_dp_tab_show_tpr_beside_auc(privacy_store):
    app = make_app(privacy_store, start_mode="results")
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#results-table", DataTable)
        auc, lira, rmia = (_column(table, c) for c in ("MIA AUC", "LiRA TPR@1%", "RMIA TPR@1%"))
        assert lira == auc + 1 and rmia == auc + 2
        cells = {str(k.value): table.get_row(k) for k in table.rows}
        assert [str(c) for c in cells["dp000bbbbbbb"][auc:rmia + 1]] == ["0.520", "0.085", "<0.0005"]
        assert [str(c) for c in cells["dp001bbbbbbb"][auc:rmia + 1]] == ["0.510", "0.065", "0.041"]
        assert str(cells["r000aaaaaaaa"][lira]) == "–"          # no strong attack ran: no number
        # sorting by LiRA's TPR reads it from the summary: the two DP runs first, the rest after
        app.screen.sort_col = "mia_lira_tpr_at_1fpr"
        app.screen.fill_runs()
        assert [r["run_id"] for r in app.screen.visible()][:2] == ["dp001bbbbbbb", "dp000bbbbbbb"]
        dp = app.screen.query_one("#dp-table", DataTable)
        row = dp.get_row_at(0)
        assert [str(c.label) for c in dp.columns.values()] == ["group", "n", "acc", "ε", "MIA AUC", "LiRA TPR@1%",
                                                                "RMIA TPR@1%", "audit ε≥"]
        assert list(row[3:]) == ["1.35", "0.515", "0.075", "0.021", "0.25"]   # means over the group's 2 runs
