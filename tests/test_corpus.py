"""Every command on every malformed input it can take: a one-line error or a counted skip.

The corpus (tests/corpus/make_corpus.py) is written into a temporary folder.
Each run must end in exit status 2 with one ``error:`` line naming the file,
row or option, or in exit status 0 with the bad file counted in the skip
summary; never a traceback, never a hang, never a partial output. Most runs
are in-process (``backend.cli.main``) under an alarm; a few run as real
subprocesses. The table of what each command said is written to
``corpus-report.md`` (and ``.json``) in pytest's temporary folder, or to
``$SOUNDING_CORPUS_REPORT`` when set.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backend.cli import main
from tests.backend.raster.fake_rasters import UTM_ORIGIN
from tests.corpus.make_corpus import ERROR, OK, SKIP, Case, Corpus, make_corpus

ROOT = Path(__file__).resolve().parents[1]
#: seconds one in-process run may take before it counts as a hang
RUN_LIMIT_S = 120
#: an extent inside the valid raster (UTM 33N, 0.5 m pixels, 128 px)
EXTENT = f"{UTM_ORIGIN[0] + 8},{UTM_ORIGIN[1] - 56},{UTM_ORIGIN[0] + 56},{UTM_ORIGIN[1] - 8}"
#: build-pairs tiles that fit the 64 m valid raster
TILE = ["--tile-metres", "16", "--tile-px", "32"]
#: stderr lines that are logging or warnings, not the error line
_NOISE = re.compile(r"^(INFO|DEBUG|WARNING) |^warning: |^\s*$")

REPORT: list[dict[str, str]] = []


@dataclass
class Run:
    """One command on one case."""

    command: str
    case: Case
    #: argv after the command name, with {placeholders} filled by the test
    argv: list[str]
    expect: str
    #: the output the command would write (must not exist after an error)
    out: Path | None = None
    #: text the skip summary must contain
    skip_text: str = "skipped"
    subprocess: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.command}:{self.case.name}"


# the corpus and the outputs folder belong to this module: removed after it
# (tests/conftest.py), not held to the end of the session
@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def _dataset(corpus: Corpus, name: str, audio: bool) -> Path:
    """A 4-recording SoundingEarth folder (spectrogram images, or raw audio) to damage."""
    from tests.backend.data.fake_soundingearth import write_fake_soundingearth

    folder = corpus.root / "datasets" / name
    if not folder.exists():
        write_fake_soundingearth(
            folder, n=4, seed=2, with_audio=audio, with_spectrograms=not audio, image_px=64
        )
    return folder


def _damaged(corpus: Corpus, case: Case, audio: bool) -> Path:
    base = _dataset(corpus, "audio" if audio else "images", audio)
    folder = corpus.root / "datasets" / f"{case.name}-{'audio' if audio else 'image'}"
    if not folder.exists():
        shutil.copytree(base, folder)
        if audio:
            for old in (folder / "audio").glob("100.*"):
                old.unlink()
            shutil.copyfile(case.path, folder / "audio" / f"100{case.path.suffix}")
        else:  # a PNG's bytes under the name the layout uses
            shutil.copyfile(case.path, folder / "images" / "100.jpg")
    return folder


def _index(corpus: Corpus) -> Path:
    index = corpus.root / "valid-index"
    if not index.exists():
        data = _dataset(corpus, "images", audio=False)
        code = main(["index", "--data", str(data), "--model", str(corpus.audiovisual)]
                    + ["--out", str(index), "--device", "cpu", "--workers", "1"])  # fmt: skip
        assert code == 0
    return index


def _broken_indexes(corpus: Corpus) -> list[tuple[str, Path, str]]:
    valid = _index(corpus)
    made = []
    for name, file, damage in (
        ("index-truncated-embeddings", "embeddings.safetensors", "truncate"),
        ("index-random-embeddings", "embeddings.safetensors", "random"),
        ("index-zero-byte-table", "recordings.csv", "zero"),
    ):
        folder = corpus.root / name
        if not folder.exists():
            shutil.copytree(valid, folder)
            target = folder / file
            data = target.read_bytes()
            target.write_bytes(
                data[: len(data) // 2] if damage == "truncate" else
                os.urandom(2048) if damage == "random" else b""
            )  # fmt: skip
        made.append((name, folder, file))
    return made


def _runs(corpus: Corpus, tmp: Path) -> list[Run]:
    """Every (command, case) pair the corpus test runs."""
    av, cls, raster, sound = corpus.audiovisual, corpus.classifier, corpus.raster, corpus.audio
    runs: list[Run] = []
    by_kind: dict[str, list[Case]] = {}
    for case in corpus.cases:
        by_kind.setdefault(case.kind, []).append(case)

    def out(name: str) -> Path:
        return tmp / name

    # corrupt media inside a dataset: skipped and counted
    for case in by_kind["image"]:
        data = _damaged(corpus, case, audio=False)
        runs.append(Run("evaluate", case, ["--data", str(data), "--model", str(av),
                                            "--split", "all", "--device", "cpu"], SKIP,
                        skip_text="skipped 1 of 4 pairs: 1 unreadable image"))  # fmt: skip
    for case in by_kind["audio"]:
        data = _damaged(corpus, case, audio=True)
        runs.append(Run("prepare", case, ["--data", str(data), "--workers", "1"], SKIP,
                        skip_text="skipped 1 of 4 pairs: 1 unreadable audio"))  # fmt: skip
        runs.append(Run("index", case, ["--data", str(data), "--model", str(av), "--out",
                                         str(out(f"index-{case.name}")), "--device", "cpu",
                                         "--workers", "1"], SKIP, out=out(f"index-{case.name}"),
                        skip_text="skipped 1 of 4 recordings: 1 unreadable audio"))  # fmt: skip
        # a single recording given by the user: an error naming it
        runs.append(Run("soundmap", case, ["--raster", str(raster), "--model", str(av),
                                            "--audio", str(case.path), "--out",
                                            str(out(f"soundmap-{case.name}.tif")),
                                            "--device", "cpu"], ERROR,
                        out=out(f"soundmap-{case.name}.tif")))  # fmt: skip

    # a dataset with every kind of broken file at once, through pretrain
    everything = corpus.root / "datasets" / "everything"
    if not everything.exists():
        from tests.backend.data.fake_soundingearth import write_fake_soundingearth

        write_fake_soundingearth(everything, n=40, seed=3, image_px=64)
        broken = [c for c in by_kind["image"] + by_kind["audio"]]
        for key, case in zip(range(100, 140, 2), broken, strict=False):
            if case.kind == "image":
                shutil.copyfile(case.path, everything / "images" / f"{key}.jpg")
            else:
                for old in (everything / "audio").glob(f"{key}.*"):
                    old.unlink()
                shutil.copyfile(case.path, everything / "audio" / f"{key}{case.path.suffix}")
    mixed = Case("every-broken-media-file", "dataset", everything, SKIP)
    runs.append(Run("pretrain", mixed, ["--data", str(everything), "--out", str(out("run")),
                                         "--epochs", "1", "--batch-size", "2", "--image-size",
                                         "32", "--embed-dim", "8", "--workers", "0",
                                         "--max-steps-per-epoch", "1", "--device", "cpu"], SKIP,
                    skip_text="unreadable"))  # fmt: skip

    # scene folders with broken images: finetune skips and counts them
    scenes = corpus.root / "scenes"
    if not scenes.exists():
        from PIL import Image

        for label in ("forest", "water"):
            (scenes / label).mkdir(parents=True)
            for i in range(4):
                Image.new("RGB", (40, 40), (30 + 60 * i, 90, 30)).save(scenes / label / f"{i}.jpg")
        for number, case in enumerate(by_kind["image"] + by_kind["raster"]):
            label = ("forest", "water")[number % 2]
            shutil.copyfile(case.path, scenes / label / f"broken-{case.path.name}")
    broken_scenes = Case("scene-folder-with-every-broken-image", "scenes", scenes, SKIP)
    runs.append(Run("finetune", broken_scenes, ["--scenes", str(scenes), "--init", "random",
                                                "--out", str(out("scenes.safetensors")),
                                                "--epochs", "1", "--batch-size", "4",
                                                "--image-size", "32", "--device", "cpu",
                                                "--workers", "0"], SKIP,
                    skip_text="skipped 9 of 17 images: 9 unreadable images",
                    out=out("scenes.skipped.csv")))  # fmt: skip

    # a raster (or something else) given as the imagery: an error naming the file
    for case in by_kind["raster"] + by_kind["vector"][-1:] + by_kind["image"][:1]:
        for command in ("classify", "embed"):
            model = cls if command == "classify" else av
            target = out(f"{command}-{case.name}.tif")
            runs.append(Run(command, case, ["--raster", str(case.path), "--model", str(model),
                                            "--out", str(target), "--device", "cpu"], ERROR,
                            out=target))  # fmt: skip
        target = out(f"soundmap-raster-{case.name}.tif")
        runs.append(Run("soundmap", case, ["--raster", str(case.path), "--model", str(av),
                                            "--audio", str(sound), "--out", str(target),
                                            "--device", "cpu"], ERROR, out=target))  # fmt: skip
        runs.append(Run("query", case, ["--index", str(_index(corpus)), "--model", str(av),
                                         "--raster", str(case.path), f"--extent={EXTENT}",
                                         "--device", "cpu"], ERROR))  # fmt: skip
        target = out(f"pairs-raster-{case.name}")
        runs.append(Run("build-pairs", case, ["--raster", str(case.path), "--points",
                                               str(corpus.root / "points" / "points-utf8-bom.csv"),
                                               "--audio-field", "sound", "--out", str(target),
                                               "--key-field", "id", *TILE], ERROR,
                        out=target))  # fmt: skip

    # points files for build-pairs
    for case in by_kind["points"]:
        target = out(f"pairs-{case.name}")
        runs.append(Run("build-pairs", case, ["--raster", str(raster), "--points",
                                               str(case.path), "--audio-field", "sound",
                                               "--out", str(target), "--key-field", "id", *TILE],
                        case.expect, out=target, skip_text="wrote 2 pairs"))  # fmt: skip

    # metadata.csv variants through every reader of the layout
    for case in by_kind["metadata"]:
        for command, argv in (
            ("prepare", ["--data", str(case.path), "--workers", "1"]),
            ("evaluate", ["--data", str(case.path), "--model", str(av), "--split", "all",
                          "--device", "cpu"]),
            ("index", ["--data", str(case.path), "--model", str(av), "--out",
                       str(out(f"index-{case.name}")), "--device", "cpu", "--workers", "1"]),
        ):  # fmt: skip
            if command != "prepare" and case.expect == OK and "quoted" not in case.name:
                continue  # the same parser as prepare's; one accepted quirk is enough
            target = out(f"index-{case.name}") if command == "index" else None
            runs.append(Run(command, case, argv, case.expect, out=target,
                            skip_text="skipped 0 of 4"))  # fmt: skip
        if case.expect == ERROR:  # the scan fails before any training
            runs.append(Run("pretrain", case, ["--data", str(case.path), "--out",
                                                str(out(f"run-{case.name}")), "--device", "cpu"],
                            ERROR, out=out(f"run-{case.name}") / "model.safetensors"))  # fmt: skip

    # model files
    data = _dataset(corpus, "images", audio=False)
    for case in by_kind["model"] + by_kind["model-av"]:
        for command, argv, target in (
            ("evaluate", ["--data", str(data), "--model", str(case.path), "--split", "all"], None),
            ("index", ["--data", str(data), "--model", str(case.path), "--out",
                       str(out(f"index-{case.name}"))], out(f"index-{case.name}")),
            ("query", ["--index", str(_index(corpus)), "--model", str(case.path), "--raster",
                       str(raster), f"--extent={EXTENT}"], None),
            ("soundmap", ["--raster", str(raster), "--model", str(case.path), "--audio",
                          str(sound), "--out", str(out(f"sm-{case.name}.tif"))],
             out(f"sm-{case.name}.tif")),
            ("embed", ["--raster", str(raster), "--model", str(case.path), "--out",
                       str(out(f"emb-{case.name}.tif"))], out(f"emb-{case.name}.tif")),
        ):  # fmt: skip
            runs.append(Run(command, case, [*argv, "--device", "cpu"], ERROR, out=target))
    for case in by_kind["model"] + by_kind["model-cls"]:
        target = out(f"cls-{case.name}.tif")
        runs.append(Run("classify", case, ["--raster", str(raster), "--model", str(case.path),
                                            "--out", str(target), "--device", "cpu"], ERROR,
                        out=target))  # fmt: skip
        target = out(f"onnx-{case.name}.onnx")
        runs.append(Run("export-onnx", case, ["--model", str(case.path), "--out", str(target)],
                        ERROR, out=target))  # fmt: skip
    # (a classifier is a valid --init: its trunk is used)
    for case in by_kind["model"][:3]:
        target = out(f"ft-{case.name}.safetensors")
        runs.append(Run("finetune", case, ["--scenes", str(scenes), "--init", str(case.path),
                                            "--out", str(target), "--epochs", "1",
                                            "--image-size", "32"], ERROR, out=target))  # fmt: skip

    # broken index folders
    for name, folder, file in _broken_indexes(corpus):
        case = Case(name, "index", folder / file, ERROR, file)
        runs.append(Run("query", case, ["--index", str(folder), "--model", str(av), "--raster",
                                         str(raster), f"--extent={EXTENT}", "--device", "cpu"],
                        ERROR))  # fmt: skip

    # a few as real processes (the exit status and stderr a shell sees)
    for run in runs:
        if run.id in (
            "evaluate:model-truncated",
            "soundmap:flac-random-bytes",
            "prepare:metadata-zero-byte",
            "build-pairs:points-non-numeric-coordinate",
            "finetune:scene-folder-with-every-broken-image",
        ):
            run.subprocess = True
    return runs


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _alarm(seconds: int):
    def fire(signum, frame):
        raise _Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _execute(run: Run, capsys) -> tuple[int | None, str, str]:
    argv = [run.command, *run.argv]
    if run.subprocess:
        env = dict(os.environ, PYTHONPATH=str(ROOT), TQDM_DISABLE="1", OMP_NUM_THREADS="1")
        try:
            done = subprocess.run(
                [sys.executable, "-m", "backend", *argv],
                capture_output=True, text=True, env=env, timeout=RUN_LIMIT_S, cwd=ROOT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return None, "", f"HANG: no answer after {RUN_LIMIT_S} s"
        return done.returncode, done.stdout, done.stderr
    capsys.readouterr()
    try:
        with _alarm(RUN_LIMIT_S):
            code = main(argv)
    except _Hang as hang:
        code, crash = None, f"HANG: {hang}"
    except SystemExit as exit_:  # argparse
        code, crash = int(exit_.code or 0), ""
    except BaseException as error:  # noqa: BLE001 - the thing this test looks for
        code, crash = None, f"Traceback: {type(error).__name__}: {error}"
    else:
        crash = ""
    captured = capsys.readouterr()
    return code, captured.out, captured.err + crash


def _empty(folder: Path) -> None:
    """Remove what is in ``folder``."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _partials(*folders: Path) -> list[str]:
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [str(p) for p in folder.rglob("*") if ".partial" in p.name]
    return found


@pytest.fixture(scope="session")
def report_path(tmp_path_factory, request) -> Path:
    """The folder the report goes to; written, and its path printed, at the end of the session."""
    path = Path(os.environ.get("SOUNDING_CORPUS_REPORT", tmp_path_factory.getbasetemp()))
    yield path
    if REPORT:
        written = _write_report(path)
        terminal = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if terminal is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                terminal.write_line(f"\ncorpus report ({len(REPORT)} runs): {written}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " / ")


def _write_report(folder: Path) -> Path:
    """``corpus-report.md`` (a Markdown table) and ``corpus-report.json`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus-report.json").write_text(json.dumps(REPORT, indent=1))
    commands = sorted({row["command"] for row in REPORT})
    lines = [
        "# What every command said on every malformed input",
        "",
        f"{len(REPORT)} runs of {len(commands)} commands ({', '.join(commands)}) on "
        f"{len({row['case'] for row in REPORT})} cases of tests/corpus/make_corpus.py. "
        "Expected: `error` = exit status 2 and one line naming the file, row or option; "
        "`skip` = exit status 0 and the bad file counted in the skip summary (the line "
        "quoted). CORPUS is the corpus folder, OUT the outputs folder.",
        "",
        "| case | command | arguments | expected | exit | what the command said |",
        "|---|---|---|---|---|---|",
    ]
    for row in sorted(REPORT, key=lambda r: (r["case"], r["command"])):
        cells = [row["case"], row["command"], f"`{row.get('argv', '')}`", row["expect"]]
        cells += [row["exit"], _cell(row["said"])[:400]]
        lines.append(
            "| " + " | ".join(_cell(c) if i < 4 else c for i, c in enumerate(cells)) + " |"
        )
    markdown = folder / "corpus-report.md"
    markdown.write_text("\n".join(lines) + "\n")
    return markdown


def _shown(text: str, corpus: Corpus, outputs: Path) -> str:
    """``text`` with this session's folders named CORPUS and OUT."""
    for folder, name in ((outputs, "OUT"), (corpus.root, "CORPUS"), (ROOT, ".")):
        text = text.replace(str(folder), name)
    return text


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outputs")


@pytest.fixture(scope="module")
def all_runs(corpus: Corpus, outputs: Path) -> list[Run]:
    return _runs(corpus, outputs)


COMMANDS = [
    "prepare", "pretrain", "evaluate", "index", "query", "soundmap", "classify", "embed",
    "finetune", "export-onnx", "build-pairs",
]  # fmt: skip


def test_the_corpus_covers_every_input_type(corpus: Corpus) -> None:
    names = {case.name.split("-")[0] for case in corpus.cases}
    for kind in ("jpeg", "png", "flac", "ogg", "mp3", "wav", "geotiff", "geopackage"):
        assert kind in names
    for family in ("metadata", "points", "model"):
        assert sum(case.name.startswith(family) for case in corpus.cases) >= 8


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_on_every_malformed_input(
    command: str,
    all_runs: list[Run],
    corpus: Corpus,
    outputs: Path,
    report_path: Path,
    capsys,
    monkeypatch,
) -> None:
    monkeypatch.setenv("TQDM_DISABLE", "1")
    failures: list[str] = []
    runs = [run for run in all_runs if run.command == command]
    assert runs
    tmp_path = outputs
    for run in runs:
        code, out, err = _execute(run, capsys)
        problems = []
        said_lines = [line for line in (out + err).splitlines() if not _NOISE.match(line)]
        if "Traceback" in err or "HANG" in err or code is None:
            problems.append("crashed or hung")
        if run.expect == ERROR:
            errors = [line for line in err.splitlines() if not _NOISE.match(line)]
            if code != 2:
                problems.append(f"exit {code}, expected 2")
            if len(errors) != 1 or not errors[0].startswith("error: "):
                problems.append(f"not one error line: {errors}")
            elif run.case.names and run.case.names not in errors[0]:
                problems.append(f"the error does not name {run.case.names!r}")
            said = errors[0] if len(errors) == 1 else " / ".join(errors)
            if run.out is not None and run.out.exists():
                problems.append(f"{run.out} was written")
        else:
            if code != 0:
                problems.append(f"exit {code}, expected 0")
            if run.out is not None and run.command == "finetune" and not run.out.exists():
                problems.append(f"{run.out} (the list of skipped images) was not written")
            summary = [line for line in (out + err).splitlines() if run.skip_text in line]
            if not summary:
                problems.append(f"no line with {run.skip_text!r}")
            said = summary[0] if summary else " / ".join(said_lines[-2:])
        leftovers = _partials(tmp_path, corpus.root)
        if leftovers:
            problems.append(f"partial files left: {leftovers}")
        REPORT.append(
            {
                "command": run.command,
                "case": run.case.name,
                "expect": run.expect,
                "exit": str(code),
                "argv": _shown(" ".join(run.argv), corpus, outputs),
                "said": _shown(said, corpus, outputs)
                + (f"  [FAILED: {'; '.join(problems)}]" if problems else ""),
                "how": "subprocess" if run.subprocess else "in-process",
            }
        )
        if problems:
            failures.append(f"{run.id}: {'; '.join(problems)}"[:600])
        else:
            # what the run wrote is checked and no other run reads it: it goes (a pretrain
            # run's checkpoint alone is 260 MB); a failed run's stays, to look at
            _empty(outputs)
    assert not failures, f"{len(failures)} of {len(runs)} runs failed:\n" + "\n".join(failures)
