"""docs/architecture.md must match the tree: every module it names exists, every package is named."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text()


def _modules() -> set[str]:
    return {p.name for top in ("tffnoise", "tffnoise_tui", "tests") for p in (ROOT / top).rglob("*.py")}


def test_every_module_the_doc_names_exists():
    named = set(re.findall(r"\b([a-z_][a-z0-9_]*\.py)\b", DOC))
    assert named, "the doc names no module"
    missing = sorted(named - _modules())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_package_is_named():
    packages = [p.parent for top in ("tffnoise", "tffnoise_tui") for p in (ROOT / top).glob("*/__init__.py")]
    missing = sorted(p.name for p in packages if f"{p.name}/" not in DOC)
    assert not missing, f"packages docs/architecture.md does not describe: {missing}"


def test_the_check_can_fail(tmp_path):
    """A deliberate error: a renamed module is reported."""
    assert "nonexistent_module.py" not in _modules()
    assert sorted({"client_update.py", "nonexistent_module.py"} - _modules()) == ["nonexistent_module.py"]
