"""The plugin's default model paths follow `make demo`'s output, wherever the plugin is."""

from __future__ import annotations

from pathlib import Path

from backend.demo.pipeline import demo_pointer_file, record_demo_output
from sounding_qgis import settings


def test_demo_output_is_found_through_env_beside_or_the_recorded_pointer(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setattr(settings, "DEMO_POINTER", demo_pointer_file())
    demo = tmp_path / "somewhere" / "demo-output"
    demo.mkdir(parents=True)
    record_demo_output(demo)  # what a full `make demo` does at the end
    assert demo_pointer_file().read_text().strip() == str(demo.resolve())

    beside = Path(settings.__file__).resolve().parent.parent / "demo-output"
    monkeypatch.delenv("SOUNDING_EARTH_DEMO_OUTPUT", raising=False)
    expected = beside if beside.is_dir() else demo.resolve()  # a repo checkout's own wins
    assert settings.demo_output() == expected

    monkeypatch.setenv("SOUNDING_EARTH_DEMO_OUTPUT", str(tmp_path / "chosen"))
    assert settings.demo_output() == tmp_path / "chosen"


def test_installed_plugin_uses_the_recorded_demo_output(tmp_path: Path, monkeypatch):
    # a plugin folder without demo-output beside it, as in a QGIS profile
    monkeypatch.delenv("SOUNDING_EARTH_DEMO_OUTPUT", raising=False)
    monkeypatch.setattr(settings, "__file__", str(tmp_path / "plugins" / "sounding_qgis" / "x.py"))
    pointer = tmp_path / "demo-output.txt"
    monkeypatch.setattr(settings, "DEMO_POINTER", pointer)
    assert settings.demo_output() == tmp_path / "plugins" / "demo-output"  # nothing recorded
    demo = tmp_path / "repo" / "demo-output"
    demo.mkdir(parents=True)
    pointer.write_text(f"{demo}\n")
    assert settings.demo_output() == demo
