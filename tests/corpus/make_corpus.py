"""Writes a corpus of malformed inputs for every input type the commands read (nothing is committed).

Run ``python -m tests.corpus.make_corpus DIR`` to look at it; the corpus test
(tests/test_corpus.py) writes it into a temporary folder. Every case is a file
(or a dataset folder holding one) made from a valid file of its kind by
truncating it, emptying it or replacing it with random bytes, or, for
metadata.csv, points CSVs and model files, by breaking one rule of the format.
"""

from __future__ import annotations

import csv
import json
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
from PIL import Image

from tests.backend.data.fake_soundingearth import write_fake_soundingearth

#: how a command is expected to treat a case
ERROR, SKIP, OK = "error", "skip", "ok"


@dataclass(frozen=True)
class Case:
    """One malformed input."""

    #: e.g. "jpeg-truncated"
    name: str
    #: the role it can play: image, audio, raster, points, metadata, model, index, scenes
    kind: str
    #: the malformed file, or the dataset folder that holds it
    path: Path
    #: ERROR (exit 2, one line), SKIP (exit 0, counted) or OK (a quirk the reader accepts)
    expect: str
    #: what an error line must contain (a file name, "line 3", a column)
    names: str = ""


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(sum(name.encode()))


def _variants(valid: bytes, name: str) -> dict[str, bytes]:
    """Truncated (half, and the header only), zero-byte and random-byte versions of ``valid``."""
    return {
        "truncated": valid[: len(valid) // 2],
        "zero-byte": b"",
        "random-bytes": _rng(name).bytes(max(64, min(len(valid), 4096))),
    }


# --------------------------------------------------------------------------- valid originals


def valid_jpeg(path: Path, size: int = 64) -> bytes:
    """A smooth RGB JPEG."""
    pixels = _rng("jpeg").integers(0, 256, (4, 4, 3), dtype=np.uint8)
    Image.fromarray(pixels).resize((size, size), Image.Resampling.BICUBIC).save(path, quality=90)
    return path.read_bytes()


def valid_png(path: Path, size: int = 64) -> bytes:
    """A smooth RGB PNG."""
    pixels = _rng("png").integers(0, 256, (4, 4, 3), dtype=np.uint8)
    Image.fromarray(pixels).resize((size, size), Image.Resampling.BICUBIC).save(path)
    return path.read_bytes()


def valid_audio(path: Path, seconds: float = 2.0, rate: int = 22050) -> bytes:
    """A two-second tone in the format of ``path``'s suffix."""
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    return path.read_bytes()


def valid_geotiff(path: Path, size: int = 128) -> bytes:
    """A tiled, compressed 3-band UTM GeoTIFF (the raster tests' kind)."""
    from tests.backend.raster.fake_rasters import smooth_image, write_raster

    write_raster(path, smooth_image(_rng("tif"), 3, size, size))
    return path.read_bytes()


def valid_geopackage(path: Path) -> bytes:
    """A GeoPackage with a few points (OGR)."""
    from osgeo import ogr, osr

    driver = ogr.GetDriverByName("GPKG")
    source = driver.CreateDataSource(str(path))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    layer = source.CreateLayer("points", srs, ogr.wkbPoint)
    layer.CreateField(ogr.FieldDefn("sound", ogr.OFTString))
    for i in range(3):
        feature = ogr.Feature(layer.GetLayerDefn())
        feature.SetField("sound", f"{i}.wav")
        feature.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT ({13.4 + i * 1e-3} 52.52)"))
        layer.CreateFeature(feature)
    source = None  # closes the file
    return path.read_bytes()


def valid_models(folder: Path) -> tuple[Path, Path]:
    """A tiny audiovisual and a tiny classifier model file."""
    from tests.backend.raster.fake_rasters import save_tiny_audiovisual, save_tiny_classifier

    folder.mkdir(parents=True, exist_ok=True)
    return (
        # trained (as it were) on the release's JPGs: it reads the spectrogram-image
        # datasets, and raw audio through the JPG front end
        save_tiny_audiovisual(folder / "audiovisual.safetensors", spectrogram="jpg"),
        save_tiny_classifier(folder / "classifier.safetensors"),
    )


# --------------------------------------------------------------------------- corrupt media


def _media_cases(root: Path) -> list[Case]:
    folder = root / "media"
    folder.mkdir(parents=True)
    originals = folder / "valid"
    originals.mkdir()
    cases: list[Case] = []
    makers = {
        "jpeg": ("image", ".jpg", valid_jpeg),
        "png": ("image", ".png", valid_png),
        "flac": ("audio", ".flac", valid_audio),
        "ogg": ("audio", ".ogg", valid_audio),
        "mp3": ("audio", ".mp3", valid_audio),
        "wav": ("audio", ".wav", valid_audio),
        "geotiff": ("raster", ".tif", valid_geotiff),
        "geopackage": ("vector", ".gpkg", valid_geopackage),
    }
    for kind_name, (kind, suffix, make) in makers.items():
        valid = make(originals / f"valid{suffix}")
        for variant, data in _variants(valid, kind_name).items():
            if kind_name == "wav" and variant == "truncated":
                data = valid[:44]  # a WAV cut at half still decodes (the rest is silence)
            if kind_name == "mp3" and variant == "truncated":
                data = valid[:100]  # MP3 frames decode up to the cut; a stub header does not
            if kind_name == "geotiff" and variant == "truncated":
                data = valid[: len(valid) * 2 // 3]
            path = folder / f"{kind_name}-{variant}{suffix}"
            path.write_bytes(data)
            cases.append(Case(f"{kind_name}-{variant}", kind, path, SKIP, path.name))
    return cases


# --------------------------------------------------------------------------- metadata.csv


def _metadata_cases(root: Path) -> list[Case]:
    """SoundingEarth folders whose metadata.csv breaks (or bends) one rule each."""
    base = root / "metadata" / "base"
    # audio for prepare, spectrogram JPGs for the JPG model of evaluate and index
    write_fake_soundingearth(
        base, n=4, seed=5, with_audio=True, with_spectrograms=True, image_px=64
    )
    with open(base / "metadata.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]

    def render(header: list[str], body: list[list[str]], line_end: str = "\n") -> str:
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=line_end).writerows([header, *body])
        return buffer.getvalue()

    def column(name: str) -> int:
        return header.index(name)

    def changed(row: int, name: str, value: str) -> list[list[str]]:
        copy = [list(r) for r in body]
        copy[row][column(name)] = value
        return copy

    # line numbers: the header is line 1; rows 0 and 3 of the fake data have a
    # two-line description, so row 1 starts on line 4
    variants: dict[str, tuple[str | bytes, str, str]] = {
        "missing-columns": (
            render(
                [h for h in header if h != "latitude"],
                [[v for h, v in zip(header, r, strict=True) if h != "latitude"] for r in body],
            ),
            ERROR,
            "latitude",
        ),
        "non-numeric-coordinate": (
            render(header, changed(1, "longitude", "13.4E")),
            ERROR,
            "line 4",
        ),
        "out-of-range-coordinate": (
            render(header, changed(1, "latitude", "91.5")),
            ERROR,
            "line 4",
        ),
        "duplicate-keys": (
            render(header, changed(1, "key", body[0][column("key")])),
            ERROR,
            "line 4",
        ),
        "unquoted-comma": (
            render(header, body).replace(body[2][column("title")], "a, b"),
            ERROR,
            "line ",
        ),
        "utf8-bom": ("\ufeff" + render(header, body), OK, ""),
        "windows-line-ends": (render(header, body, "\r\n"), OK, ""),
        "quoted-commas": (
            render(header, changed(1, "title", 'Rain, wind, and "thunder", far away')),
            OK,
            "",
        ),
        "10mb-line": (render(header, changed(2, "description", "x" * 10_000_000)), OK, ""),
        "zero-byte": ("", ERROR, "metadata.csv"),
        "random-bytes": (_rng("metadata").bytes(4096), ERROR, "metadata.csv"),
    }
    cases = []
    import shutil

    for name, (content, expect, names) in variants.items():
        folder = root / "metadata" / name
        shutil.copytree(base, folder)
        target = folder / "metadata.csv"
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode("utf-8"))
        cases.append(Case(f"metadata-{name}", "metadata", folder, expect, names))
    return cases


# --------------------------------------------------------------------------- points files


def _points_cases(root: Path, media: list[Case]) -> list[Case]:
    """Points files for build-pairs (lon/lat CSV, relative audio paths)."""
    folder = root / "points"
    folder.mkdir(parents=True)
    valid_audio(folder / "a.wav")
    valid_audio(folder / "b.wav")
    # inside the valid raster (UTM 33N, 64 m square; see make_corpus)
    rows = [["id", "lon", "lat", "sound"], ["1", "13.36450", "52.51850", "a.wav"]]
    rows.append(["2", "13.36470", "52.51845", "b.wav"])

    def text(rows: list[list[str]], line_end: str = "\n") -> str:
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=line_end).writerows(rows)
        return buffer.getvalue()

    def with_cell(row: int, col: int, value: str) -> list[list[str]]:
        copy = [list(r) for r in rows]
        copy[row][col] = value
        return copy

    long_row = [list(r) + [""] for r in rows]
    long_row[0][-1] = "notes"
    long_row[1][-1] = "x" * 10_000_000
    variants: dict[str, tuple[str | bytes, str, str]] = {
        "no-coordinate-columns": (
            text([["id", "east", "north", "sound"], *rows[1:]]),
            ERROR,
            "points-no-coordinate-columns.csv",
        ),
        "non-numeric-coordinate": (text(with_cell(2, 1, "13.4E")), ERROR, "row 2"),
        "out-of-range-coordinate": (text(with_cell(2, 2, "-95")), ERROR, "row 2"),
        "duplicate-keys": (text(with_cell(2, 0, "1")), ERROR, "duplicate key 1"),
        "utf8-bom": ("\ufeff" + text(rows), OK, ""),
        "windows-line-ends": (text(rows, "\r\n"), OK, ""),
        "quoted-commas": (
            text(with_cell(1, 3, "a.wav")) + '3,"13,4","52,5",b.wav\n',
            ERROR,
            "row 3",
        ),
        "10mb-line": (text(long_row), OK, ""),
        "zero-byte": ("", ERROR, "points-zero-byte.csv"),
        "random-bytes": (_rng("points").bytes(4096), ERROR, "points-random-bytes.csv"),
    }
    cases = []
    for name, (content, expect, names) in variants.items():
        path = folder / f"points-{name}.csv"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        cases.append(Case(f"points-{name}", "points", path, expect, names))
    for case in media:  # a GeoPackage or an image given as the points file
        if case.kind == "vector":
            cases.append(Case(case.name, "points", case.path, ERROR, case.path.name))
    return cases


# --------------------------------------------------------------------------- model files


def _model_cases(root: Path) -> tuple[list[Case], Path, Path]:
    folder = root / "models"
    audiovisual, classifier = valid_models(folder / "valid")
    data = audiovisual.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    first = next(name for name in header if name != "__metadata__")

    def with_header(changed: dict) -> bytes:
        text = json.dumps(changed).encode()
        text += b" " * (-len(text) % 8)
        return struct.pack("<Q", len(text)) + text + data[8 + length :]

    wrong_shape = json.loads(json.dumps(header))
    wrong_shape[first]["shape"] = [d * 2 for d in wrong_shape[first]["shape"]] or [2]
    wrong_offsets = json.loads(json.dumps(header))
    start, end = wrong_offsets[first]["data_offsets"]
    wrong_offsets[first]["data_offsets"] = [start, end + len(data)]
    cases_bytes = {
        "truncated": data[: len(data) // 2],
        "header-lies-about-shape": with_header(wrong_shape),
        "header-lies-about-offsets": with_header(wrong_offsets),
        "header-bigger-than-file": struct.pack("<Q", len(data) * 4) + data[8:],
        "zero-byte": b"",
        "random-bytes": _rng("model").bytes(4096),
    }
    cases = []
    for name, content in cases_bytes.items():
        path = folder / f"model-{name}.safetensors"
        path.write_bytes(content)
        cases.append(Case(f"model-{name}", "model", path, ERROR, path.name))
    pickle = folder / "model-pickle.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, pickle)
    cases.append(Case("model-pickle", "model", pickle, ERROR, pickle.name))
    # valid files of the wrong kind
    cases.append(
        Case("model-classifier-for-audiovisual", "model-av", classifier, ERROR, classifier.name)
    )
    cases.append(
        Case("model-audiovisual-for-classifier", "model-cls", audiovisual, ERROR, audiovisual.name)
    )
    return cases, audiovisual, classifier


# --------------------------------------------------------------------------- everything


@dataclass
class Corpus:
    """The cases and the valid inputs the commands need beside them."""

    root: Path
    cases: list[Case]
    audiovisual: Path
    classifier: Path
    raster: Path
    audio: Path


def make_corpus(root: str | Path) -> Corpus:
    """Write every case under ``root`` (created) and return them."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    media = _media_cases(root)
    models, audiovisual, classifier = _model_cases(root)
    cases = media + _metadata_cases(root) + _points_cases(root, media) + models
    from tests.backend.raster.fake_rasters import smooth_image, write_raster

    raster = write_raster(root / "valid-raster.tif", smooth_image(_rng("raster"), 3, 128, 128))
    audio = root / "valid-sound.wav"
    valid_audio(audio)
    return Corpus(root, cases, audiovisual, classifier, raster, audio)


if __name__ == "__main__":
    corpus = make_corpus(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for case in corpus.cases:
        print(f"{case.name:40s} {case.kind:10s} {case.expect:6s} {case.path}")
