"""``sounding:getdataset`` through processing.run, against a local stand-in for Zenodo."""

from __future__ import annotations

import json
from pathlib import Path

import processing
import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback

from backend.data.published import DOWNLOADABLE, SOURCE_FILE
from backend.data.records import ZENODO_API_ENV
from backend.data.soundingearth import scan_pairs
from sounding_qgis.algorithms.datasets import DATASETS
from tests.backend.data.fake_published import (
    SOUNDINGEARTH_RECORD,
    RecordServer,
    md5,
    soundingearth_files,
    zip_members,
)

pytestmark = pytest.mark.usefixtures("sounding_provider")


@pytest.fixture()
def server(monkeypatch):
    srv = RecordServer()
    monkeypatch.setenv(ZENODO_API_ENV, srv.api)
    yield srv
    srv.close()


class CancellingFeedback(QgsProcessingFeedback):
    """Cancels once the download has reported some progress."""

    def setProgress(self, progress: float) -> None:  # noqa: N802 (QGIS's name)
        super().setProgress(progress)
        if progress > 0:
            self.cancel()


def test_the_algorithm_offers_what_the_backend_downloads() -> None:
    assert sorted(DATASETS) == sorted(DOWNLOADABLE) and DATASETS[0] == "soundingearth"


def test_soundingearth_downloads_into_a_folder_pretrain_reads(server, tmp_path: Path) -> None:
    server.publish(SOUNDINGEARTH_RECORD, soundingearth_files(tmp_path, n=8))
    out = tmp_path / "SoundingEarth"
    result = processing.run("sounding:getdataset", {"DATASET": 0, "OUTPUT": str(out)})
    assert Path(result["OUTPUT"]) == out
    assert len(scan_pairs(out, split=None).pairs) == 8
    published = md5(server.files["SoundingEarth.zip"])
    assert f"SoundingEarth.zip: md5:{published}" in result["CHECKSUMS"]
    assert result["DOWNLOADED_MB"] > 0
    assert json.loads((out / SOURCE_FILE).read_text())["dataset"] == "soundingearth"
    again = processing.run("sounding:getdataset", {"DATASET": 0, "OUTPUT": str(out)})
    assert again["DOWNLOADED_MB"] == 0


def test_cancelling_keeps_the_partial_download_and_a_rerun_resumes(server, tmp_path: Path) -> None:
    files = soundingearth_files(tmp_path, n=40)
    server.publish(SOUNDINGEARTH_RECORD, files)
    out = tmp_path / "se"
    with pytest.raises(QgsProcessingException, match="partial download is kept"):
        processing.run(
            "sounding:getdataset",
            {"DATASET": 0, "OUTPUT": str(out)},
            feedback=CancellingFeedback(),
        )
    part = out / ".downloads" / "SoundingEarth.zip.part"
    assert 0 < part.stat().st_size < len(files["SoundingEarth.zip"])
    assert not (out / "images").exists()
    processing.run("sounding:getdataset", {"DATASET": 0, "OUTPUT": str(out)})
    assert server.ranges and len(scan_pairs(out, split=None).pairs) == 40


def test_a_wrong_checksum_or_an_escaping_archive_is_a_clear_error(server, tmp_path: Path) -> None:
    server.publish(SOUNDINGEARTH_RECORD, soundingearth_files(tmp_path, n=4))
    server.wrong_checksum = {"SoundingEarth.zip"}
    with pytest.raises(QgsProcessingException, match="checksum mismatch"):
        processing.run("sounding:getdataset", {"DATASET": 0, "OUTPUT": str(tmp_path / "a")})
    server.wrong_checksum = set()
    server.publish(SOUNDINGEARTH_RECORD, {"evil.zip": zip_members({"../../x.txt": b"x"})})
    with pytest.raises(QgsProcessingException, match="outside the target folder"):
        processing.run("sounding:getdataset", {"DATASET": 0, "OUTPUT": str(tmp_path / "b" / "c")})
    assert not list(tmp_path.rglob("x.txt"))
