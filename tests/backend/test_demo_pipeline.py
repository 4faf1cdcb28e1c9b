"""``python -m backend demo``: the whole pipeline on tiny procedural data, its report and reruns."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from backend.demo.report import DATA_SOURCES_ID, SECTION_IDS, lookup, render_report
from backend.demo.stages.transfer import PRETRAINED_LABEL, RANDOM_LABEL
from backend.demo.steps import StepBook

#: the CI size, with fewer pairs and one pretraining epoch: these tests check the
#: pipeline's steps, outputs and report, not what the model learns
TINY = ["--size", "tiny", "--pairs", "64", "--epochs", "1", "--device", "cpu", "--workers", "0"]
#: outputs whose bytes a rerun must leave alone
KEPT_OUTPUTS = (
    "pretrain/model.safetensors",
    "classifier.safetensors",
    "classes.tif",
    "soundmap.tif",
    "index/embeddings.safetensors",
    "query.json",
    "summary.json",
    "report.html",
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(out: Path, *extra: str) -> None:
    from backend.cli import main

    assert main(["demo", "--out", str(out), *TINY, *extra]) == 0


class _Page(HTMLParser):
    """Section ids, tagged figures and audio sources of the report."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.figures: list[tuple[str, str, str]] = []
        self.audio: list[str] = []
        self._open: list[list] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("id"):
            self.ids.append(found["id"])
        if tag == "audio" and found.get("src"):
            self.audio.append(found["src"])
        if tag == "span" and "data-key" in found:
            self._open.append([found["data-key"], found["data-value"], ""])

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open:
            self.figures.append(tuple(self._open.pop()))


def _page(out: Path) -> _Page:
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny demo, run once through the CLI."""
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    _run(out)
    return out


@pytest.fixture(scope="module")
def summary(demo: Path) -> dict:
    return json.loads((demo / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_the_plugin_defaults_exist(demo: Path) -> None:
    """The plugin's default paths point into demo-output; they must be there."""
    from backend.models.modelfile import load_model_metadata

    assert load_model_metadata(demo / "pretrain" / "model.safetensors").kind == "audiovisual"
    classifier = load_model_metadata(demo / "classifier.safetensors")
    assert classifier.kind == "classifier"
    assert set(classifier.class_names) == {
        "water",
        "forest",
        "farmland",
        "urban",
        "road",
        "beach",
    }
    assert (demo / "index" / "embeddings.safetensors").is_file()
    assert (demo / "index" / "recordings.csv").is_file()
    for name in ("classes.tif", "classes.qml", "soundmap.tif", "query.json", "report.html"):
        assert (demo / name).is_file(), name
    # checkpoints hold optimizer state the demo does not need
    assert not (demo / "pretrain" / "checkpoints").exists()


@pytest.mark.slow
def test_report_has_every_section(demo: Path) -> None:
    ids = _page(demo).ids
    assert [i for i in ids if i in SECTION_IDS] == list(SECTION_IDS)
    assert DATA_SOURCES_ID not in ids  # procedural data has no sources.json


@pytest.mark.slow
def test_report_shows_the_summarys_figures(demo: Path, summary: dict) -> None:
    """Each tagged number is the summary's, printed as the report formats it."""
    from backend.demo import report

    figures = _page(demo).figures
    assert len(figures) > 40
    shown = {key: (json.loads(value), text) for key, value, text in figures}
    for key, (value, _text) in shown.items():
        assert lookup(summary, key) == value, key
    required = [
        f"retrieval/{model}/{direction}/{metric}"
        for model in ("pretrained", "untrained", "chance")
        for direction in ("image_to_sound", "sound_to_image")
        for metric in ("R@1", "R@5", "R@10", "median_rank")
    ]
    required += [
        f"transfer/rows/{row}/{mode}/{stat}"
        for row in ("Random init", "Audiovisual pretrained")
        for mode in ("linear", "finetune")
        for stat in ("mean", "std")
    ]
    required += ["classification/overall_accuracy", "classification/majority_baseline"]
    missing = [key for key in required if key not in shown]
    assert not missing
    accuracy = summary["classification"]["overall_accuracy"]
    assert shown["classification/overall_accuracy"][1] == report.percent(accuracy)
    median = summary["retrieval"]["pretrained"]["image_to_sound"]["median_rank"]
    assert shown["retrieval/pretrained/image_to_sound/median_rank"][1] == report.rank(median)
    n = summary["retrieval"]["n"]
    chance = summary["retrieval"]["chance"]["image_to_sound"]
    assert chance["median_rank"] == (n + 1) / 2
    assert chance["R@5"] == pytest.approx(5 / n)
    paper_chance = summary["retrieval"]["chance"]["paper"]["image_to_sound"]
    assert paper_chance["R@10"] == pytest.approx(9 / n)
    assert "retrieval/pretrained/paper/sound_to_image/R@100" in shown


@pytest.mark.slow
def test_class_map_accuracy_is_recomputed_from_the_rasters(demo: Path, summary: dict) -> None:
    """classes.tif against the majority ground-truth label of each cell, computed here."""
    import rasterio

    label_names = json.loads((demo / "data" / "classes.json").read_text())["classes"]
    with rasterio.open(demo / "classes.tif") as dataset:
        predicted = dataset.read(1)
        names = json.loads(dataset.tags()["CLASS_NAMES"])
        cell = dataset.transform
    with rasterio.open(demo / "data" / "scene_labels.tif") as dataset:
        labels = dataset.read(1)
        inverse = ~dataset.transform
    correct = total = 0
    for row in range(predicted.shape[0]):
        for col in range(predicted.shape[1]):
            # the cell's footprint in label pixels
            c0, r0 = inverse @ (cell @ (col, row))
            c1, r1 = inverse @ (cell @ (col + 1, row + 1))
            block = labels[
                max(0, round(r0)) : min(labels.shape[0], round(r1)),
                max(0, round(c0)) : min(labels.shape[1], round(c1)),
            ]
            block = block[block != 255]
            if block.size == 0 or predicted[row, col] == 255:
                continue
            truth = label_names[int(np.bincount(block).argmax())]
            total += 1
            correct += names[predicted[row, col]] == truth
    assert total == summary["classification"]["cells"]
    assert correct / total == pytest.approx(summary["classification"]["overall_accuracy"])


@pytest.mark.slow
def test_retrieval_is_recomputed_from_the_saved_model(demo: Path, summary: dict) -> None:
    from backend.evaluate import evaluate

    report = evaluate(
        demo / "data" / "pairs", demo / "pretrain" / "model.safetensors", split="test", device="cpu"
    )
    for direction in ("image_to_sound", "sound_to_image"):
        saved = summary["retrieval"]["pretrained"][direction]
        assert report["topk"][direction]["median_rank"] == saved["median_rank"]
        assert report["topk"][direction]["R@10"] == saved["R@10"]
        paper = summary["retrieval"]["pretrained"]["paper"][direction]
        assert report["paper"][direction]["median_rank"] == paper["median_rank"]
    assert report["n"] == summary["retrieval"]["n"]


@pytest.mark.slow
def test_audio_players_play_files_beside_the_report(demo: Path) -> None:
    import soundfile

    sources = _page(demo).audio
    assert len(sources) >= 2
    for source in sources:
        path = demo / source
        assert path.is_file(), source
        info = soundfile.info(str(path))
        assert info.frames > 0 and info.format == "OGG"


@pytest.mark.slow
def test_rerun_reuses_every_step_and_changes_nothing(demo: Path) -> None:
    stamps = json.loads((demo / ".steps.json").read_text())["steps"]
    before = {name: _sha256(demo / name) for name in KEPT_OUTPUTS}
    _run(demo)
    after = json.loads((demo / ".steps.json").read_text())["steps"]
    assert {n: s["run"] for n, s in after.items()} == {n: s["run"] for n, s in stamps.items()}
    assert {name: _sha256(demo / name) for name in KEPT_OUTPUTS} == before


@pytest.mark.slow
def test_fresh_redoes_every_step(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "again"
    shutil.copytree(demo, copy)
    stamps = json.loads((copy / ".steps.json").read_text())["steps"]
    _run(copy, "--fresh")
    after = json.loads((copy / ".steps.json").read_text())["steps"]
    assert set(after) == set(stamps)
    assert all(after[name]["run"] != stamps[name]["run"] for name in stamps)
    summary = json.loads((copy / "summary.json").read_text())
    # the same seed gives the same data, hence the same test split
    assert (
        summary["retrieval"]["n"]
        == json.loads((demo / "summary.json").read_text())["retrieval"]["n"]
    )


@pytest.mark.slow
def test_data_sources_section_lists_origins_and_licences(
    demo: Path, summary: dict, tmp_path: Path
) -> None:
    copy = tmp_path / "with-sources"
    shutil.copytree(demo, copy)
    sources = [
        {
            "file": "pairs/audio/1.flac",
            "package": "some-package",
            "origin": "https://example.org/recording",
            "licence": "CC-BY-4.0",
        }
    ]
    (copy / "data" / "sources.json").write_text(json.dumps(sources))
    text = render_report(
        copy, summary, {}, pretrained_row=PRETRAINED_LABEL, random_row=RANDOM_LABEL
    )
    page = _Page()
    page.feed(text)
    assert DATA_SOURCES_ID in page.ids
    assert "https://example.org/recording" in text and "CC-BY-4.0" in text


# --------------------------------------------------------------------------- fast checks


def test_step_book_reuses_only_complete_steps_with_the_same_settings(tmp_path: Path) -> None:
    calls: list[str] = []

    def work(name: str):
        def run() -> dict:
            calls.append(name)
            (tmp_path / f"{name}.txt").write_text(name)
            return {"value": len(calls)}

        return run

    book = StepBook(tmp_path)
    first = book.run("a", {"x": 1}, ["a.txt"], work("a"))
    assert not first.reused and calls == ["a"]
    again = StepBook(tmp_path).run("a", {"x": 1}, ["a.txt"], work("a"))
    assert again.reused and again.result == first.result and calls == ["a"]
    StepBook(tmp_path).run("a", {"x": 2}, ["a.txt"], work("a"))  # settings changed
    assert calls == ["a", "a"]
    (tmp_path / "a.txt").unlink()  # output gone
    StepBook(tmp_path).run("a", {"x": 2}, ["a.txt"], work("a"))
    assert calls == ["a", "a", "a"]
    StepBook(tmp_path, fresh=True).run("a", {"x": 2}, ["a.txt"], work("a"))
    assert calls == ["a", "a", "a", "a"]


def test_a_step_that_fails_is_not_stamped(tmp_path: Path) -> None:
    book = StepBook(tmp_path)
    book.run("a", {}, [], lambda: {"ok": True})

    def killed() -> dict:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        book.run("a", {"changed": True}, [], killed)
    # the old stamp was removed before the step started again, and none was written after
    assert "a" not in StepBook(tmp_path).stamps


def test_real_source_without_its_module_says_so(tmp_path: Path, monkeypatch) -> None:
    from backend.demo import DemoConfig, run_demo

    monkeypatch.setitem(sys.modules, "backend.data.real_demo", None)
    with pytest.raises(ValueError, match="real_demo"):
        run_demo(DemoConfig(out=tmp_path, size="tiny", source="real", device="cpu"))
