"""The records layer is the base of reporting: light to import, and read by metrics without reports."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_records_import_nothing_heavy():
    code = ("import sys, tffnoise.records.runs, tffnoise.records.groups, tffnoise.records.labels, tffnoise.records.load;"
            "heavy = [m for m in ('tensorflow', 'matplotlib', 'scipy', 'tffnoise.reports') if m in sys.modules];"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_metrics_do_not_import_reports():
    offenders = [p.name for p in (ROOT / "tffnoise" / "metrics").glob("*.py")
                 if re.search(r"^\s*(from|import) tffnoise\.reports", p.read_text(), re.M)]
    assert offenders == []
