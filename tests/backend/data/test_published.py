"""`data get`: the paper's datasets from their records, verified, resumable, safely extracted.

No network: a local HTTP server stands in for Zenodo's API and the publishers
(tests/backend/data/fake_published.py), serving small archives in the records'
layouts. Each result is read by the project's own reader.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.archive import ArchiveError
from backend.atomic import OutputError
from backend.cli import main
from backend.data.published import (
    DOWNLOADS,
    SOURCE_FILE,
    ManualDownload,
    get_dataset,
)
from backend.data.records import ZENODO_API_ENV, DatasetError, parse_zenodo_files
from backend.data.scenes import scan_scenes
from backend.data.soundingearth import PairDataset, scan_pairs
from backend.progress import Cancelled
from backend.transfer.advance import scan_advance
from tests.backend.data.fake_published import (
    ADVANCE_CLASSES,
    ADVANCE_RECORD,
    SOUNDINGEARTH_RECORD,
    UCMERCED_CLASSES,
    RecordServer,
    advance_files,
    md5,
    sha256,
    soundingearth_files,
    ucmerced_zip,
    zip_members,
)
from tests.cancelling import CancelAfter
from tests.full_disk import MODES, full_folder


@pytest.fixture()
def server(monkeypatch):
    srv = RecordServer()
    monkeypatch.setenv(ZENODO_API_ENV, srv.api)
    yield srv
    srv.close()


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_both_zenodo_forms_give_the_files_and_the_published_md5() -> None:
    current = {
        "enabled": True,
        "entries": {
            "a.zip": {
                "key": "a.zip",
                "size": 10,
                "checksum": "md5:" + "a" * 32,
                "links": {"content": "https://z/api/records/1/files/a.zip/content", "self": "x"},
            }
        },
    }
    legacy = [{"key": "a.zip", "size": 10, "checksum": "a" * 32, "links": {"self": "https://z/f"}}]
    (one,) = parse_zenodo_files(current, "1", "https://z/api")
    (two,) = parse_zenodo_files(legacy, "1", "https://z/api")
    assert one.url == "https://z/api/records/1/files/a.zip/content" and two.url == "https://z/f"
    assert one.checksum == two.checksum == "md5:" + "a" * 32 and one.size == two.size == 10
    # no link: the record's content address
    (three,) = parse_zenodo_files([{"key": "b c.zip"}], "7", "https://z/api")
    assert three.url == "https://z/api/records/7/files/b%20c.zip/content" and three.checksum is None
    assert parse_zenodo_files({"enabled": True}, "1") is None
    with pytest.raises(DatasetError, match="not a plain file name"):
        parse_zenodo_files([{"key": "../x.zip"}], "1")
    with pytest.raises(DatasetError, match="not a md5 digest"):
        parse_zenodo_files([{"key": "x.zip", "checksum": "md5:123"}], "1")


def test_soundingearth_lands_in_the_layout_pretrain_reads(server, tmp_path: Path) -> None:
    server.publish(SOUNDINGEARTH_RECORD, soundingearth_files(tmp_path, n=10))
    out = tmp_path / "SoundingEarth"
    messages: list[str] = []
    result = get_dataset("soundingearth", out, log=messages.append)
    assert result.problems == []
    # the wrapper folder of the archive is gone: the release layout is at the top
    assert entries(out) == ["images", "metadata.csv", "source.json", "spectrograms"]
    scan = scan_pairs(out, split=None)
    assert len(scan.pairs) == 10 and not scan.skipped
    sample = PairDataset(scan.pairs, train=False)[0]
    assert sample["image"].shape[0] == 3 and sample["audio"].shape[-2] == 128
    assert any("pretrain --data " + str(out) in step for step in result.next_steps)
    # the checksum is the record's, and recorded
    source = json.loads((out / SOURCE_FILE).read_text())
    (record,) = source["files"]
    assert record["published_checksum"] == "md5:" + md5(server.files["SoundingEarth.zip"])
    assert record["sha256"] == sha256(server.files["SoundingEarth.zip"])
    assert "Zenodo record 5600379" in source["source"] and "Zenodo record 5600379" in messages[0]
    assert not (out / DOWNLOADS).exists()  # archives removed once extracted
    # a second run finds it complete: reads the record, downloads nothing
    before = len(server.requests)
    again = get_dataset("soundingearth", out)
    assert again.already_present and again.downloaded_bytes == 0
    assert all(not r.startswith("/files/") for r in server.requests[before:])


@pytest.mark.parametrize("form", ["legacy", "rdm-list"])
def test_a_record_split_over_plain_files_and_archives(server, tmp_path: Path, form: str) -> None:
    server.form = form
    server.publish(SOUNDINGEARTH_RECORD, soundingearth_files(tmp_path, n=6, split=True))
    out = tmp_path / "se"
    result = get_dataset("soundingearth", out, keep_archives=True)
    assert result.problems == [] and len(scan_pairs(out, split=None).pairs) == 6
    assert sorted(f.key for f in result.files) == [
        "images.zip",
        "metadata.csv",
        "spectrograms.tar.gz",
    ]
    assert result.archives == out / DOWNLOADS and (out / DOWNLOADS / "images.zip").is_file()


def test_advance_lands_in_the_layout_transfer_reads(server, tmp_path: Path) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    out = tmp_path / "advance"
    result = get_dataset("advance", out)
    assert result.problems == []
    scan = scan_advance(out)
    assert scan.class_names == sorted(ADVANCE_CLASSES) and len(scan.scenes) == 9
    assert result.next_steps == [
        f"python -m backend transfer --task advance --data {out} --model MODEL.safetensors"
    ]


def test_ucmerced_records_the_sha256_of_its_first_download(server, tmp_path: Path) -> None:
    first = ucmerced_zip(tmp_path, seed=2)
    server.files["UCMerced_LandUse.zip"] = first
    out = tmp_path / "ucmerced"
    result = get_dataset("ucmerced", out, url=server.url("UCMerced_LandUse.zip"))
    (file,) = result.files
    assert file.recorded and file.published_checksum is None and file.sha256 == sha256(first)
    assert json.loads((out / SOURCE_FILE).read_text())["files"][0]["sha256"] == sha256(first)
    # the scene folder is the dataset folder itself, without the archive's macOS folder
    assert entries(out) == sorted([SOURCE_FILE, *UCMERCED_CLASSES])
    scenes = scan_scenes(out)
    assert scenes.class_names == sorted(UCMERCED_CLASSES) and len(scenes.images) == 12
    assert result.next_steps[0].startswith(f"python -m backend transfer --scenes {out} ")

    # a later download into the folder must match the recorded checksum
    server.files["UCMerced_LandUse.zip"] = ucmerced_zip(tmp_path, seed=3)
    with pytest.raises(DatasetError, match="first download into this folder had SHA-256"):
        get_dataset("ucmerced", out, url=server.url("UCMerced_LandUse.zip"), force=True)
    assert len(scan_scenes(out).images) == 12  # the data in place is untouched
    server.files["UCMerced_LandUse.zip"] = first
    again = get_dataset("ucmerced", out, url=server.url("UCMerced_LandUse.zip"), force=True)
    assert not again.files[0].recorded and again.files[0].sha256 == sha256(first)


def test_a_truncated_download_is_kept_and_resumed(server, tmp_path: Path) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    server.truncate = 1
    out = tmp_path / "advance"
    with pytest.raises(DatasetError, match="incomplete.*kept in.*run the same command again"):
        get_dataset("advance", out)
    part = out / DOWNLOADS / "ADVANCE_vision.zip.part"  # the first file
    size = len(server.files["ADVANCE_vision.zip"])
    assert part.is_file() and 0 < part.stat().st_size < size
    kept = part.stat().st_size
    assert not (out / "vision").exists() and not (out / "sound").exists()
    result = get_dataset("advance", out)
    assert server.ranges == [f"bytes={kept}-"]
    assert result.downloaded_bytes == sum(len(d) for d in server.files.values()) - kept
    assert result.problems == [] and len(scan_advance(out).scenes) == 9


def test_a_complete_part_killed_before_its_check_is_not_downloaded_again(
    server, tmp_path: Path
) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    out = tmp_path / "advance"
    (out / DOWNLOADS).mkdir(parents=True)
    for key, data in server.files.items():
        (out / DOWNLOADS / f"{key}.part").write_bytes(data)
    result = get_dataset("advance", out)
    assert result.downloaded_bytes == 0 and len(scan_advance(out).scenes) == 9
    assert not [r for r in server.requests if r.startswith("/files/")]


def test_a_wrong_checksum_keeps_nothing(server, tmp_path: Path) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    server.wrong_checksum = {"ADVANCE_vision.zip"}
    out = tmp_path / "advance"
    with pytest.raises(DatasetError, match="ADVANCE_vision.zip: checksum mismatch.*deleted"):
        get_dataset("advance", out)
    assert entries(out / DOWNLOADS) == [] and not (out / "vision").exists()


def test_an_archive_writing_outside_its_folder_is_refused(server, tmp_path: Path) -> None:
    evil = zip_members({"vision/airport/00001.jpg": b"x", "../../escaped.txt": b"gotcha"})
    server.publish(ADVANCE_RECORD, {"ADVANCE_vision.zip": evil})
    out = tmp_path / "deep" / "advance"
    with pytest.raises(ArchiveError, match="outside the target folder.*download was deleted"):
        get_dataset("advance", out)
    assert not list(tmp_path.rglob("escaped.txt"))
    # no staging folder, no half-extracted data, no download left
    assert entries(out) in ([], [DOWNLOADS]) and entries(out / DOWNLOADS) == []


def test_cancelling_keeps_the_download_and_leaves_no_partial_folder(server, tmp_path: Path) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    out = tmp_path / "advance"
    with pytest.raises(Cancelled):
        get_dataset("advance", out, progress=CancelAfter(2))
    assert any(name.endswith(".part") for name in entries(out / DOWNLOADS))
    # cancelled while extracting (every file downloaded and verified by then)
    asked = CancelAfter(10_000)
    get_dataset("advance", tmp_path / "count", progress=asked)
    used = asked.checked
    with pytest.raises(Cancelled):
        get_dataset("advance", out, progress=CancelAfter(used - 3))
    assert entries(out) == [DOWNLOADS]  # no staging folder, no vision/ or sound/
    assert sorted(n for n in entries(out / DOWNLOADS) if n.endswith(".zip")) == [
        "ADVANCE_sound.zip",
        "ADVANCE_vision.zip",
    ]
    before = len(server.requests)
    result = get_dataset("advance", out)
    assert result.downloaded_bytes == 0 and len(scan_advance(out).scenes) == 9
    assert all(not r.startswith("/files/") for r in server.requests[before:])


def test_a_folder_holding_another_dataset_is_refused(server, tmp_path: Path) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    out = tmp_path / "data"
    get_dataset("advance", out)
    server.publish(SOUNDINGEARTH_RECORD, soundingearth_files(tmp_path, n=4))
    with pytest.raises(DatasetError, match="already holds the advance dataset"):
        get_dataset("soundingearth", out)


def test_an_unreachable_record_says_what_to_check(monkeypatch, tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(ZENODO_API_ENV, f"http://127.0.0.1:{port}/api")
    with pytest.raises(DatasetError, match="cannot read Zenodo record 5600379.*network"):
        get_dataset("soundingearth", tmp_path / "se")
    assert not (tmp_path / "se").exists()


@pytest.mark.parametrize("name", ["aid", "resisc45", "deepglobe"])
def test_datasets_without_an_address_say_where_to_get_them(name: str, tmp_path, capsys) -> None:
    with pytest.raises(ManualDownload, match="no stable direct download address"):
        get_dataset(name, tmp_path / name)
    assert main(["data", "get", name, "--out", str(tmp_path / name)]) == 2
    message = capsys.readouterr().err
    assert "Where to get it: " in message and "https://" in message
    assert "Where to put it: unpack " in message and f"so that {tmp_path / name}" in message
    assert "Then: python -m backend transfer" in message
    assert not (tmp_path / name).exists()


def test_cli_data_get_prints_the_checksums_and_the_next_command(
    server, tmp_path: Path, capsys
) -> None:
    server.files["UCMerced_LandUse.zip"] = data = ucmerced_zip(tmp_path)
    out = tmp_path / "uc"
    argv = [
        "data",
        "get",
        "ucmerced",
        "--out",
        str(out),
        "--url",
        server.url("UCMerced_LandUse.zip"),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"SHA-256 {sha256(data)}" in printed and "publisher gives no checksum" in printed
    assert f"python -m backend transfer --scenes {out} --init MODEL.safetensors" in printed
    assert main(argv) == 0
    assert "already downloaded, verified and extracted" in capsys.readouterr().out

    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    assert main(["data", "get", "advance", "--out", str(tmp_path / "adv")]) == 0
    printed = capsys.readouterr().out
    assert f"ADVANCE_vision.zip: md5:{md5(server.files['ADVANCE_vision.zip'])} verified" in printed
    assert "transfer --task advance --data" in printed

    assert main(["data", "get", "advance"]) == 2
    assert "--out DIR is required" in capsys.readouterr().err
    assert main(["data", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Zenodo record 5600379" in listing and "manual download" in listing


@pytest.mark.parametrize("mode", MODES)
def test_a_full_disk_is_said_before_or_while_writing(server, tmp_path: Path, mode: str) -> None:
    server.publish(ADVANCE_RECORD, advance_files(tmp_path))
    with full_folder(tmp_path, mode) as folder:
        out = folder / "advance"
        if mode == "tmpfs":  # the record announces the sizes: checked before downloading
            with pytest.raises(DatasetError, match=r"the download needs .* but only .* is free"):
                get_dataset("advance", out)
            assert entries(out / DOWNLOADS) == []
        else:  # a file size limit: the write fails, and says so
            with pytest.raises(OutputError, match=r"\.part: the file size limit was reached"):
                get_dataset("advance", out)
    assert not (out / "vision").exists()


@pytest.mark.slow
def test_a_run_killed_while_extracting_leaves_no_litter_after_the_next(
    server, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    # many small files: the extraction lasts long enough to be caught in the act
    members = {f"vision/airport/{i:05d}.jpg": os.urandom(2000) for i in range(3000)}
    members.update({f"sound/airport/{i:05d}.wav": b"RIFF" for i in range(3000)})
    server.publish(ADVANCE_RECORD, {"ADVANCE.zip": zip_members(members)})
    out = tmp_path / "advance"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]), TQDM_DISABLE="1")
    child = subprocess.Popen(
        [sys.executable, "-m", "backend", "data", "get", "advance", "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    staged: list[Path] = []
    while child.poll() is None and time.monotonic() < deadline and not staged:
        staged = list(out.glob(".staged.*.partial")) if out.is_dir() else []
        time.sleep(0.002)
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    _, err = child.communicate(timeout=60)
    assert child.returncode in (0, 1, -signal.SIGKILL), err.decode()[-2000:]
    if child.returncode == -signal.SIGKILL and staged:
        assert not (out / "vision").exists()  # nothing published by the killed run
    # the next run removes what the killed one left, and completes from the kept download
    before = len(server.requests)
    get_dataset("advance", out)
    assert not [p for p in out.rglob(".*") if ".partial" in p.name or ".backup" in p.name]
    assert len(list((out / "vision" / "airport").iterdir())) == 3000
    if staged:
        assert not [r for r in server.requests[before:] if r.startswith("/files/")]
