"""The documentation site: the command-line page matches the parser, and the site builds strictly."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tool_modules import load_tool

ROOT = Path(__file__).resolve().parent.parent
cli_reference = load_tool("cli_reference")


def test_the_cli_reference_page_is_generated_from_the_current_parser() -> None:
    current = cli_reference.PAGE.read_text(encoding="utf-8")
    assert current == cli_reference.render(), "run: python tools/cli_reference.py"


def test_the_cli_reference_names_every_command_and_option() -> None:
    from backend.cli import build_parser

    page = cli_reference.render()
    parser = build_parser()
    for name, sub in cli_reference._subcommands(parser):
        assert f"## `{name}`" in page
        for action in sub._actions:
            if action.help == argparse.SUPPRESS or "-h" in action.option_strings:
                continue
            for flag in action.option_strings:
                assert f"`{flag}" in page, f"{name} {flag}"


def test_a_stale_page_is_reported(tmp_path, monkeypatch, capsys) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("# old\n", encoding="utf-8")
    monkeypatch.setattr(cli_reference, "PAGE", stale)
    monkeypatch.setattr(cli_reference, "ROOT", tmp_path)
    assert cli_reference.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().out


@pytest.mark.skipif(
    shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
    reason="mkdocs is installed by make setup",
)
def test_the_site_builds_in_strict_mode(tmp_path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "cli" / "index.html").is_file()
    assert (tmp_path / "site" / "architecture" / "index.html").is_file()
