"""Small archives in the published datasets' layouts, and a local server for their records.

:class:`RecordServer` answers on 127.0.0.1 like the Zenodo API
(``/api/records/<id>``, in the current or the legacy JSON form) and like a
publisher's file server (``/files/<key>``, with HTTP Range). It can cut a
response short, publish a wrong checksum and count the requests.

The archives follow the records' layouts: ADVANCE's two ZIPs unpack to
``vision/<class>/<id>.jpg`` and ``sound/<class>/<id>.wav``; UC Merced's ZIP to
``UCMerced_LandUse/Images/<class>/<class>NN.tif``. SoundingEarth's file names on
Zenodo are not known here, so its fake is one ZIP whose top folder wraps the
release layout (``SoundingEarth/data/metadata.csv``, ``images/``,
``spectrograms/``), or that layout split over several files.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from tests.backend.data.fake_soundingearth import write_fake_soundingearth
from tests.range_serving import send_with_range

#: the fake records' numbers (the real ones)
SOUNDINGEARTH_RECORD = "5600379"
ADVANCE_RECORD = "3828124"
#: ADVANCE class folder names as released (spaces included)
ADVANCE_CLASSES = ("airport", "sparse shrub land", "train station")
UCMERCED_CLASSES = ("agricultural", "beach", "forest")


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def zip_folder(folder: Path, prefix: str = "") -> bytes:
    """A ZIP of every file and folder under ``folder``, names under ``prefix``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            name = prefix + path.relative_to(folder).as_posix()
            archive.write(path, name + ("/" if path.is_dir() else ""))
    return buffer.getvalue()


def tar_folder(folder: Path, prefix: str = "") -> bytes:
    """A gzipped TAR of every file under ``folder``, names under ``prefix``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(folder.rglob("*")):
            archive.add(path, prefix + path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


def zip_members(members: dict[str, bytes]) -> bytes:
    """A ZIP of the given names and contents, names written as given (``../x`` too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def soundingearth_files(work: Path, n: int = 10, split: bool = False) -> dict[str, bytes]:
    """SoundingEarth as record files: one wrapped ZIP, or (``split``) the layout over three files."""
    data = work / "soundingearth-source"
    write_fake_soundingearth(data, n=n, with_audio=False, with_spectrograms=True, image_px=96)
    if not split:
        return {"SoundingEarth.zip": zip_folder(data, "SoundingEarth/data/")}
    return {
        "metadata.csv": (data / "metadata.csv").read_bytes(),
        "images.zip": zip_folder(data / "images", "images/"),
        "spectrograms.tar.gz": tar_folder(data / "spectrograms", "spectrograms/"),
    }


def advance_files(work: Path, per_class: int = 3) -> dict[str, bytes]:
    """``ADVANCE_vision.zip`` and ``ADVANCE_sound.zip`` as the record holds them."""
    rng = np.random.default_rng(1)
    vision, sound = work / "advance-vision", work / "advance-sound"
    number = 0
    rate = 16000
    for label, name in enumerate(ADVANCE_CLASSES):
        (vision / "vision" / name).mkdir(parents=True)
        (sound / "sound" / name).mkdir(parents=True)
        for _ in range(per_class):
            number += 1
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(vision / "vision" / name / f"{number:05d}.jpg")
            t = np.arange(rate) / rate
            wave = 0.3 * np.sin(2 * np.pi * (300 + 500 * label) * t)
            soundfile.write(sound / "sound" / name / f"{number:05d}.wav", wave, rate)
    return {"ADVANCE_vision.zip": zip_folder(vision), "ADVANCE_sound.zip": zip_folder(sound)}


def ucmerced_zip(work: Path, per_class: int = 4, seed: int = 2) -> bytes:
    """``UCMerced_LandUse.zip``: ``UCMerced_LandUse/Images/<class>/<class>NN.tif`` (+ ``__MACOSX``)."""
    rng = np.random.default_rng(seed)
    images = work / f"ucmerced-{seed}" / "UCMerced_LandUse" / "Images"
    for name in UCMERCED_CLASSES:
        (images / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(images / name / f"{name}{i:02d}.tif")
    # what a ZIP made on macOS carries besides the data (not a class folder)
    junk = images.parent.parent / "__MACOSX" / "UCMerced_LandUse"
    junk.mkdir(parents=True)
    (junk / "._Images").write_bytes(b"\0\5\26\7")
    return zip_folder(images.parent.parent)


class RecordServer:
    """A local stand-in for Zenodo's API and a publisher's file server."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        #: record number -> keys of the files it lists
        self.records: dict[str, list[str]] = {}
        #: ``rdm`` (entries keyed by name), ``rdm-list`` (entries as a list, at /files) or
        #: ``legacy`` (a list of files with ``links.self``)
        self.form = "rdm"
        #: keys whose published md5 is wrong
        self.wrong_checksum: set[str] = set()
        #: responses still to cut short (half the body, then the connection closes)
        self.truncate = 0
        self.requests: list[str] = []
        self.ranges: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if self.path.startswith("/api/records/"):
                    self._record(self.path.removeprefix("/api/records/"))
                elif self.path.startswith("/files/"):
                    self._file(self.path.removeprefix("/files/"))
                else:
                    self.send_error(404)

            def _record(self, rest: str) -> None:
                number, _, tail = rest.partition("/")
                if number not in server.records:
                    self.send_error(404, "record not found")
                    return
                body = json.dumps(server.record_json(number, listing=tail == "files")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _file(self, key: str) -> None:
                data = server.files.get(key)
                if data is None:
                    self.send_error(404)
                    return
                truncate = server.truncate > 0
                server.truncate -= truncate
                send_with_range(self, data, server.ranges, truncate)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.api = f"{self.base}/api"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, record: str, files: dict[str, bytes]) -> None:
        """Serve ``files`` and list them in ``record``."""
        self.files.update(files)
        self.records[record] = list(files)

    def url(self, key: str) -> str:
        return f"{self.base}/files/{key}"

    def _entry(self, key: str) -> dict:
        data = self.files[key]
        checksum = md5(b"not the file" + data) if key in self.wrong_checksum else md5(data)
        entry = {"key": key, "size": len(data), "checksum": f"md5:{checksum}"}
        if self.form == "legacy":
            entry["links"] = {"self": self.url(key)}
        else:
            entry["links"] = {"content": self.url(key), "self": f"{self.api}/metadata/{key}"}
        return entry

    def record_json(self, number: str, listing: bool = False) -> dict:
        entries = [self._entry(key) for key in self.records[number]]
        if listing:
            return {"entries": entries}
        record = {"id": int(number), "metadata": {"title": f"record {number}"}}
        if self.form == "legacy":
            record["files"] = entries
        elif self.form == "rdm":
            record["files"] = {"enabled": True, "entries": {e["key"]: e for e in entries}}
        else:  # rdm-list: the record leaves its files to the /files address
            record["files"] = {"enabled": True}
            record["links"] = {"files": f"{self.api}/records/{number}/files"}
        return record

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
