"""One lock for every install path: uv, plain pip (requirements.txt) and the GPU Dockerfile."""
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def locked_versions() -> dict:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {p["name"]: p.get("version") for p in lock["package"]}


def test_lock_resolves_the_dead_jax_pin_and_the_gpu_extra():
    v = locked_versions()
    assert v["tensorflow-federated"] == "0.87.0" and v["tensorflow"].startswith("2.14.")
    assert v["jax"] == "0.4.13" and v["jaxlib"] == "0.4.13"
    assert v["tensorflow-privacy"] == "0.9.0" and int(v["numpy"].split(".")[0]) < 2
    assert any(name.startswith("nvidia-cudnn") for name in v), "the gpu extra must be locked too"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "jax==0.4.13" in pyproject["tool"]["uv"]["override-dependencies"]


def test_requirements_txt_pins_exactly_the_locked_set():
    v = locked_versions()
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", (ROOT / "requirements.txt").read_text(), re.M))
    assert pins, "requirements.txt has no pins"
    for name, version in pins.items():
        assert v.get(name.lower()) == version, name
    for needed in ("tensorflow", "tensorflow-federated", "tensorflow-privacy", "textual", "jax"):
        assert needed in pins


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv not on PATH")
def test_requirements_txt_is_the_current_export(tmp_path):
    out = tmp_path / "req.txt"
    subprocess.run(["uv", "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "-o", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    strip = lambda t: [x for x in t.splitlines() if not x.startswith("#")]  # noqa: E731
    assert strip(out.read_text()) == strip((ROOT / "requirements.txt").read_text())


def test_dockerfile_installs_the_same_lock_for_gpu():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^COPY .*uv\.lock", text, re.M)
    syncs = re.findall(r"^RUN uv sync (.*)$", text, re.M)
    assert syncs and all("--frozen" in s and "--extra gpu" in s for s in syncs)
    assert "pip install -r" not in text and 'ENTRYPOINT ["tffnoise"]' in text
    assert re.search(r"^FROM python:3\.11", text, re.M)


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].startswith("uv run tffnoise run recipes/quickstart.toml")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv not on PATH")
def test_wheel_ships_the_recipes_and_a_tui_package_that_cannot_collide(tmp_path):
    """`python -m tffnoise.recipes.X` must work from an installed wheel, not only a checkout; the TUI's
    top-level package is `tffnoise_tui` (a bare `tui` would collide with other installed packages)."""
    import zipfile

    subprocess.run(["uv", "build", "--wheel", "--out-dir", str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("tffnoise-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(n).name for n in names if n.startswith("tffnoise/recipes/files/") and n.endswith(".toml")}
    assert shipped == {p.name for p in (ROOT / "recipes").glob("*.toml")} and "quickstart.toml" in shipped
    assert "tffnoise_tui/app.py" in names and "tffnoise_tui/app.tcss" in names
    assert not any(n.startswith("tui/") for n in names)
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tffnoise-tui = tffnoise_tui.app:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_recipe_modules_read_the_packaged_files(monkeypatch):
    from tffnoise.recipes.base import recipes_dir

    monkeypatch.delenv("TFFNOISE_RECIPES", raising=False)
    assert recipes_dir() == ROOT / "tffnoise" / "recipes" / "files"
    assert (ROOT / "recipes").resolve() == recipes_dir().resolve()
