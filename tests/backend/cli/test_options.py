"""The option groups the commands share read the same in every command that takes them."""

from __future__ import annotations

import argparse

import pytest

from backend.cli import build_parser, main, progress_bar


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command and sub-command parser, by its name as typed (``models get`` ...)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{prefix}{name}"] = sub
                    walk(f"{prefix}{name} ", sub)

    walk("", build_parser())
    return found


def _flag(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


@pytest.mark.parametrize("flag", ["--device", "--spectrograms", "--crs", "--seed", "--json"])
def test_a_shared_flag_is_declared_alike_in_every_command(flag: str) -> None:
    declared = {
        name: (action.help, action.metavar, action.default, tuple(action.choices or ()))
        for name, parser in _commands().items()
        if (action := _flag(parser, flag)) is not None
    }
    assert len(declared) >= 2, f"{flag} is not shared"
    if flag in ("--seed", "--json"):  # the help says what the seed or the file is for
        declared = {name: value[1:] for name, value in declared.items()}
    assert len(set(declared.values())) == 1, f"{flag} differs between commands: {declared}"


def test_model_workers_and_dataset_flags_share_their_form() -> None:
    forms = {"--model": set(), "--workers": set(), "--data": set()}
    for name, parser in _commands().items():
        for flag, seen in forms.items():
            action = _flag(parser, flag)
            if action is not None and not (flag == "--data" and name == "transfer"):
                seen.add((action.metavar, action.type))
    assert len(forms["--model"]) == 1 and len(forms["--data"]) == 1
    # the demo's --workers also refuses a negative count; the rest leave that to the backend
    assert {metavar for metavar, _ in forms["--workers"]} == {"N"}


def test_a_negative_seed_is_refused_naming_the_flag(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["pretrain", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--seed", "-1"])
    assert stop.value.code == 2
    assert "argument --seed: expected a number >= 0, got -1" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_progress_bar_is_closed_when_the_command_fails(capsys) -> None:
    with pytest.raises(RuntimeError), progress_bar("failing", disable=False) as bar:
        bar.progress(0.5, "half way")
        raise RuntimeError("stop")
    err = capsys.readouterr().err
    # a closed bar leaves its last state on its own line; an open one has no line end yet
    assert "failing:  50%" in err and err.endswith("\n")
