"""The paper's datasets as published: where each one is, and its verified download into a folder.

``get_dataset("soundingearth" | "advance" | "ucmerced", OUT)`` reads the
dataset's published record (SoundingEarth: Zenodo record 5600379; ADVANCE:
Zenodo record 3828124; UC Merced: its publisher's address), downloads every file
the record lists into ``OUT/.downloads/`` (``KEY.part`` while it streams; an
interrupted download resumes with an HTTP Range request), verifies each against
the checksum the record publishes, extracts the archives safely
(:mod:`backend.archive`) into a staging folder inside ``OUT`` and moves the
result into place in the layout the readers take: ``pretrain``/``evaluate``
(SoundingEarth), ``transfer --task advance`` (ADVANCE), ``transfer --scenes``
(UC Merced). ``OUT/source.json`` records where every file came from and its
checksums. UC Merced publishes no checksum: its first download's SHA-256 is
recorded there and shown, and a later download into the same folder must match it.

AID, NWPU-RESISC45 and DeepGlobe have no stable direct address: for them
:func:`get_dataset` raises :class:`ManualDownload` saying where to fetch them and
where to put them.

The Zenodo API base (``https://zenodo.org/api``) can be changed with
``$SOUNDING_EARTH_ZENODO_API`` (a mirror, or a local server in the tests).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import shlex
import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.archive import ArchiveError, extract_archive, extracted_size, is_archive
from backend.atomic import staged_folder, sweep_once
from backend.data.records import (
    ZENODO_API_ENV,
    DatasetError,
    RemoteFile,
    zenodo_api,
    zenodo_record_files,
)
from backend.download import DownloadError, download, file_digests
from backend.progress import NullProgress, Progress, SubProgress, check_cancelled

#: the file in the dataset folder that records where its files came from
SOURCE_FILE = "source.json"
#: the hidden folder of the dataset folder that holds downloads (and ``.part`` files)
DOWNLOADS = ".downloads"
#: share of the progress bar taken by downloading and verifying (the rest is extraction)
_DOWNLOAD_SHARE = 0.8
#: folders of an archive that are never data (macOS resource forks)
_JUNK = ("__MACOSX",)


class ManualDownload(DatasetError):
    """A dataset without a stable direct address; the message says where to get it, where to put it."""


@dataclass(frozen=True)
class PublishedDataset:
    """A dataset of the paper: where it is published and what reads it."""

    name: str
    title: str
    #: what it is for in this project
    purpose: str
    #: Zenodo record number, when it is published on Zenodo
    zenodo_record: str | None = None
    #: direct download address, when the publisher has one (and no record)
    url: str | None = None
    #: the landing page a person reads
    page: str = ""
    #: for datasets without a direct address: where to get it and where to put it
    manual: str = ""
    #: is this folder the dataset's root (the folder the reader takes)?
    is_root: Callable[[Path], bool] | None = field(default=None, compare=False, repr=False)
    #: what is missing or wrong in a dataset folder (empty: ready to use)
    check: Callable[[Path], list[str]] | None = field(default=None, compare=False, repr=False)
    #: the commands that use a dataset folder
    next_steps: Callable[[Path], list[str]] | None = field(default=None, compare=False, repr=False)

    @property
    def source(self) -> str:
        """Where the files come from, in words."""
        if self.zenodo_record:
            record = self.zenodo_record
            return f"Zenodo record {record} (https://zenodo.org/records/{record})"
        if self.url:
            return self.url
        return "no direct address (see `data get " + self.name + "`)"


# --------------------------------------------------------------------------- the layouts


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _has_image_files(folder: Path) -> bool:
    from backend.data.scenes import IMAGE_SUFFIXES

    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.is_file() and entry.name.lower().endswith(IMAGE_SUFFIXES):
                return True
    return False


def _subfolders(folder: Path) -> list[Path]:
    try:
        return sorted(
            p
            for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".") and p.name not in _JUNK
        )
    except OSError:
        return []


def _soundingearth_root(folder: Path) -> bool:
    return (folder / "metadata.csv").is_file()


def _soundingearth_check(folder: Path) -> list[str]:
    from backend.data.soundingearth import scan_pairs

    problems = []
    if not (folder / "metadata.csv").is_file():
        problems.append("no metadata.csv (the table of recordings: key, longitude, latitude, ...)")
    if not _has_image_files(folder / "images"):
        problems.append("no images/{key}.jpg (the aerial image of each recording)")
    if not (folder / "spectrograms").is_dir() and not (folder / "audio").is_dir():
        problems.append(
            "no spectrograms/{key}.jpg and no audio/ (the sound of each recording: the "
            "release's spectrogram images, or raw recordings)"
        )
    if problems:
        return problems
    try:
        scan = scan_pairs(folder, split=None, check_readable=False)
    except (ValueError, OSError) as error:
        return [str(error)]
    if not scan.pairs:
        return [f"no recording has both an image and a sound ({scan.summary()})"]
    return []


def _soundingearth_next(folder: Path) -> list[str]:
    steps = []
    if (folder / "audio").is_dir() and not (folder / "spectrograms").is_dir():
        steps.append(f"python -m backend prepare --data {_q(folder)}")
    steps += [
        f"python -m backend pretrain --data {_q(folder)} --out runs/soundingearth",
        f"python -m backend evaluate --data {_q(folder)} "
        "--model runs/soundingearth/model.safetensors --split test",
    ]
    return steps


def _advance_root(folder: Path) -> bool:
    from backend.transfer.advance import SOUND_FOLDER, VISION_FOLDER

    return (folder / VISION_FOLDER).is_dir() or (folder / SOUND_FOLDER).is_dir()


def _advance_check(folder: Path) -> list[str]:
    from backend.transfer.advance import scan_advance

    try:
        scan_advance(folder)
    except (ValueError, OSError) as error:
        return [str(error)]
    return []


def _advance_next(folder: Path) -> list[str]:
    return [
        f"python -m backend transfer --task advance --data {_q(folder)} --model MODEL.safetensors"
    ]


def _scenes_root(folder: Path) -> bool:
    return sum(1 for sub in _subfolders(folder) if _has_image_files(sub)) >= 2


def _scenes_check(folder: Path) -> list[str]:
    classes = [sub for sub in _subfolders(folder) if _has_image_files(sub)]
    if len(classes) < 2:
        return [f"expected one folder of images per class, found {len(classes)} such folder(s)"]
    return []


def _scenes_next(folder: Path) -> list[str]:
    return [
        f"python -m backend transfer --scenes {_q(folder)} --init MODEL.safetensors --mode linear",
        f"python -m backend transfer-table --protocol paper --scenes {_q(folder)} "
        "--inits random MODEL.safetensors --modes finetune --out results/ucmerced",
    ]


def _manual(name: str, where: str, layout: str, command: str) -> str:
    """The message for a dataset without a direct address (``{dir}``: the user's folder)."""
    return (
        f"{name} has no stable direct download address, so `data get` cannot fetch it.\n"
        f"Where to get it: {where}\n"
        f"Where to put it: {layout}\n"
        f"Then: {command}"
    )


# One entry per dataset, alike in shape only: each has its own address, checks and next steps.
DATASETS: dict[str, PublishedDataset] = {
    "soundingearth": PublishedDataset(
        name="soundingearth",
        title="SoundingEarth (Heidler et al. 2021): aerial images paired with geotagged recordings",
        purpose="pretrain, evaluate, index",
        zenodo_record="5600379",
        page="https://zenodo.org/records/5600379",
        is_root=_soundingearth_root,
        check=_soundingearth_check,
        next_steps=_soundingearth_next,
    ),
    "advance": PublishedDataset(
        name="advance",
        title="ADVANCE (Hu et al. 2020): 5075 aerial scenes with sounds in 13 classes",
        purpose="transfer --task advance",
        zenodo_record="3828124",
        page="https://zenodo.org/records/3828124",
        is_root=_advance_root,
        check=_advance_check,
        next_steps=_advance_next,
    ),
    "ucmerced": PublishedDataset(
        name="ucmerced",
        title="UC Merced Land Use (Yang and Newsam 2010): 2100 aerial scenes in 21 classes",
        purpose="transfer --scenes, transfer-table, finetune",
        url="http://weegee.vision.ucmerced.edu/datasets/UCMerced_LandUse.zip",
        page="http://weegee.vision.ucmerced.edu/datasets/landuse.html",
        is_root=_scenes_root,
        check=_scenes_check,
        next_steps=_scenes_next,
    ),
    "aid": PublishedDataset(
        name="aid",
        title="AID (Xia et al. 2017): 10000 aerial scenes in 30 classes",
        purpose="transfer --scenes, transfer-table, finetune",
        page="https://captain-whu.github.io/AID/",
        manual=_manual(
            "AID",
            "the AID project page of Wuhan University's Captain group "
            "(https://captain-whu.github.io/AID/, formerly "
            "http://www.captain-whu.com/project/AID/), "
            "which links to copies on OneDrive and BaiduPan.",
            "unpack it so that {dir} holds the 30 class folders (Airport/, BareLand/, ..., "
            "each with its .jpg images), e.g. {dir}/Airport/airport_1.jpg.",
            "python -m backend transfer-table --protocol paper --scenes {dir} "
            "--inits random MODEL.safetensors --out results/aid",
        ),
    ),
    "resisc45": PublishedDataset(
        name="resisc45",
        title="NWPU-RESISC45 (Cheng et al. 2017): 31500 scenes in 45 classes",
        purpose="transfer --scenes, transfer-table, finetune",
        page="https://gcheng-nwpu.github.io/#Datasets",
        manual=_manual(
            "NWPU-RESISC45",
            "the authors' page (https://gcheng-nwpu.github.io/#Datasets), which links to copies "
            "on OneDrive and BaiduPan (the original address, "
            "http://www.escience.cn/people/JunweiHan/NWPU-RESISC45.html, is gone).",
            "unpack the archive (a RAR file: 7-Zip or unrar read it) so that {dir} holds "
            "the 45 class folders (airplane/, airport/, ...), e.g. "
            "{dir}/airplane/airplane_001.jpg.",
            "python -m backend transfer-table --protocol paper --scenes {dir} "
            "--inits random MODEL.safetensors --modes finetune --out results/resisc45",
        ),
    ),
    "deepglobe": PublishedDataset(
        name="deepglobe",
        title="DeepGlobe 2018 land cover (Demir et al. 2018): 803 images with class masks",
        purpose="transfer --task segmentation",
        page="https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset",
        manual=_manual(
            "DeepGlobe land cover",
            "the DeepGlobe 2018 challenge released it through its challenge site (an account "
            "is needed); a copy is on Kaggle, "
            "https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset "
            "(a Kaggle account is needed).",
            "unpack it so that {dir}/train/ holds the <id>_sat.jpg images with the "
            "<id>_mask.png masks beside them (the challenge's training set: 803 pairs).",
            "python -m backend transfer --task segmentation --data {dir} "
            "--init MODEL.safetensors --out deepglobe.safetensors",
        ),
    ),
}
#: the datasets ``data get`` downloads
DOWNLOADABLE: tuple[str, ...] = tuple(n for n, d in DATASETS.items() if not d.manual)


def dataset(name: str) -> PublishedDataset:
    """The dataset called ``name``.

    Raises:
        DatasetError: No such dataset (the message lists the known ones).
    """
    found = DATASETS.get(name.lower())
    if found is None:
        raise DatasetError(f"no dataset called {name!r} (known: {', '.join(DATASETS)})")
    return found


# --------------------------------------------------------------------------- getting a dataset


@dataclass
class FetchedFile:
    """One file of a dataset download, as recorded in ``source.json``."""

    key: str
    url: str
    size: int
    #: the checksum the record publishes (``ALGORITHM:HEX``), or None
    published_checksum: str | None
    sha256: str
    #: True when nothing is published and this download's SHA-256 was recorded now
    recorded: bool = False


@dataclass
class GetDataResult:
    """What :func:`get_dataset` did."""

    dataset: str
    folder: Path
    files: list[FetchedFile] = field(default_factory=list)
    #: True when the folder already held this download, complete; nothing was fetched
    already_present: bool = False
    #: bytes that came over the network in this call (resumed bytes excluded)
    downloaded_bytes: int = 0
    #: what is missing or wrong in the folder (empty: ready to use)
    problems: list[str] = field(default_factory=list)
    #: commands that use the folder
    next_steps: list[str] = field(default_factory=list)
    #: where the downloaded archives were kept (``keep_archives``), else None
    archives: Path | None = None


def _gb(size: int) -> str:
    return f"{size / 1e9:.2f} GB" if size >= 1e8 else f"{size / 1e6:.1f} MB"


def _read_source(folder: Path) -> dict[str, Any] | None:
    path = folder / SOURCE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DatasetError(f"{path}: not readable ({error}); remove it to start again") from error
    return data if isinstance(data, dict) else None


def _recorded_files(source: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    files = source.get("files") if source else None
    if not isinstance(files, list):
        return {}
    return {f["key"]: f for f in files if isinstance(f, dict) and isinstance(f.get("key"), str)}


def _remote_files(spec: PublishedDataset, url: str | None) -> list[RemoteFile]:
    if url is not None or spec.url:
        address = url or spec.url or ""
        key = Path(urllib.parse.unquote(urllib.parse.urlsplit(address).path)).name
        if not key or key.startswith("."):
            raise DatasetError(f"{address}: the address does not end in a file name")
        return [RemoteFile(key=key, url=address)]
    assert spec.zenodo_record is not None
    return zenodo_record_files(spec.zenodo_record)


def _check_free_space(folder: Path, needed: int, what: str, advice: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise DatasetError(
            f"{what} needs {_gb(needed)} in {folder}, but only {_gb(free)} is free; {advice}"
        )


def _fetch(
    remote: RemoteFile,
    downloads: Path,
    expected_sha256: str | None,
    progress: Progress,
) -> tuple[Path, FetchedFile, int]:
    """Download one file into ``downloads`` (resuming), verify it, return it and its record."""
    final = downloads / remote.key
    marker = downloads / f"{remote.key}.verified"
    published = remote.checksum
    algorithm = published.split(":", 1)[0] if published else "sha256"
    if final.is_file() and marker.is_file():
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8"))
            earlier = FetchedFile(**recorded["file"])
        except (OSError, ValueError, TypeError, KeyError):
            recorded, earlier = {}, None  # a damaged marker: download again
        if (
            earlier is not None
            and recorded.get("checksum") == published
            and recorded.get("size") == final.stat().st_size
            and expected_sha256 in (None, earlier.sha256)
        ):
            progress.progress(1.0, f"{remote.key}: already downloaded")
            return final, earlier, 0
    part = downloads / f"{remote.key}.part"
    have = part.stat().st_size if part.is_file() else 0
    if remote.size is not None and have > remote.size:
        part.unlink()  # longer than the record says: not a part of this file
        have = 0
    received = 0
    if remote.size is None or have < remote.size:  # else complete: killed before its check
        try:
            received = download(
                remote.url, part, SubProgress(progress, 0.0, 0.9), keep_incomplete=True
            )
        except DownloadError as error:
            raise DatasetError(str(error)) from error
    digests = file_digests(part, {algorithm, "sha256"}, SubProgress(progress, 0.9, 1.0))
    size = part.stat().st_size
    if published is not None:
        if digests[algorithm] != published.split(":", 1)[1]:
            part.unlink()
            raise DatasetError(
                f"{remote.key}: checksum mismatch: the record publishes {published}, the download "
                f"has {algorithm}:{digests[algorithm]}; the file was deleted, run the command "
                "again to download it again"
            )
    elif expected_sha256 is not None and digests["sha256"] != expected_sha256:
        part.unlink()
        raise DatasetError(
            f"{remote.key}: checksum mismatch: the first download into this folder had SHA-256 "
            f"{expected_sha256} (recorded in {SOURCE_FILE}), this one has {digests['sha256']}; "
            "the file was deleted. The publisher may have changed the file: remove "
            f"{SOURCE_FILE} to accept a new one"
        )
    if remote.size is not None and size != remote.size:
        part.unlink()
        raise DatasetError(
            f"{remote.key}: the record announces {remote.size} bytes, the download has {size}; "
            "the file was deleted, run the command again"
        )
    fetched = FetchedFile(
        key=remote.key,
        url=remote.url,
        size=size,
        published_checksum=published,
        sha256=digests["sha256"],
        recorded=published is None and expected_sha256 is None,
    )
    os.replace(part, final)
    marker.write_text(
        json.dumps({"checksum": published, "size": size, "file": dataclasses.asdict(fetched)}),
        encoding="utf-8",
    )
    return final, fetched, received


def _remove_junk(folder: Path) -> None:
    for junk in _JUNK:
        shutil.rmtree(folder / junk, ignore_errors=True)


def _hoist_root(stage: Path, is_root: Callable[[Path], bool], depth: int = 4) -> None:
    """Move the dataset's root folder (found at most ``depth`` levels down) to the stage's top."""
    _remove_junk(stage)
    level = [stage]
    root = None
    for _ in range(depth + 1):
        root = next((folder for folder in level if is_root(folder)), None)
        if root is not None:
            break
        level = [sub for folder in level for sub in _subfolders(folder)]
    if root is None or root == stage:
        return
    _remove_junk(root)
    holder = stage / ".root"
    os.replace(root, holder)
    wrapper = root.parent
    while wrapper != stage:  # remove the now empty wrapper folders
        with contextlib.suppress(OSError):
            wrapper.rmdir()
        wrapper = wrapper.parent
    for entry in sorted(holder.iterdir()):
        target = stage / entry.name
        if target.exists():
            raise DatasetError(
                f"cannot arrange the archives: {entry.name} exists both at their top and in "
                f"{root.relative_to(stage)}"
            )
        os.replace(entry, target)
    holder.rmdir()


def _place(file: Path, stage: Path, progress: Progress) -> None:
    """Put one downloaded file into the staging folder: extract an archive, link any other file."""
    if is_archive(file.name):
        extract_archive(file, stage, progress)
        return
    target = stage / file.name
    try:
        os.link(file, target)
    except OSError:
        shutil.copy2(file, target)


def _source_json(spec: PublishedDataset, files: list[FetchedFile]) -> str:
    data: dict[str, Any] = {
        "dataset": spec.name,
        "title": spec.title,
        "source": spec.source,
        "page": spec.page,
        "retrieved": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "files": [
            {k: v for k, v in dataclasses.asdict(f).items() if k != "recorded"} for f in files
        ],
    }
    if any(f.published_checksum is None for f in files):
        data["note"] = (
            "files without a published checksum: their sha256 is the one the first download "
            "into this folder had, and later downloads must match it"
        )
    return json.dumps(data, indent=2) + "\n"


def manual_instructions(name: str, out: str | os.PathLike | None = None) -> str:
    """Where to get a dataset that ``data get`` cannot download, where to put it (``out``)."""
    spec = dataset(name)
    where = shlex.quote(str(out)) if out is not None else f"~/data/{spec.name}"
    return spec.manual.replace("{dir}", where)


def get_dataset(
    name: str,
    out: str | os.PathLike,
    progress: Progress | None = None,
    url: str | None = None,
    keep_archives: bool = False,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> GetDataResult:
    """Download a published dataset into ``out``: verified, extracted in its reader's layout.

    Args:
        name: ``soundingearth``, ``advance`` or ``ucmerced`` (see :data:`DATASETS`).
        out: The dataset folder (created if needed).
        progress: Progress and cancellation. A cancelled download keeps its
            ``.part`` file for the next call to resume; a cancelled extraction
            leaves no partial folder (the verified downloads are kept).
        url: Another address for a dataset published at one address (a mirror).
        keep_archives: Keep the downloaded archives in ``out/.downloads`` after
            extracting them (they are deleted by default).
        force: Extract again even when ``out`` already holds the dataset (downloads
            verified earlier and still in ``out/.downloads`` are reused).
        log: Receives one-line messages for the user (what is downloaded, sizes).

    Returns:
        The files with their checksums, what is missing from the folder (if
        anything), and the commands that use it.

    Raises:
        ManualDownload: The dataset has no direct address (the message says what to do).
        DatasetError: Unreachable record, checksum mismatch, truncated download (the
            bytes received are kept for the next call), not enough disk space.
        ArchiveError: A damaged archive or a refused member (a path outside the
            folder, a link); the archive is deleted and nothing is extracted.
        OutputError: The disk filled up.
        Cancelled: Cancelled through ``progress``.
    """
    spec = dataset(name)
    if spec.manual:
        raise ManualDownload(manual_instructions(name, out))
    if url is not None and spec.zenodo_record:
        raise DatasetError(
            f"{spec.name} comes from Zenodo record {spec.zenodo_record}; --url is for datasets "
            f"published at one address (set ${ZENODO_API_ENV} for a mirror of the Zenodo API)"
        )
    progress = progress or NullProgress()
    say = log or (lambda _message: None)
    folder = Path(out).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DatasetError(f"{folder} exists and is not a folder; choose a folder for the dataset")
    source = _read_source(folder)
    if source is not None and source.get("dataset") not in (None, spec.name):
        raise DatasetError(
            f"{folder} already holds the {source.get('dataset')} dataset ({SOURCE_FILE}); "
            "choose another folder"
        )
    recorded = _recorded_files(source)
    where = f"{spec.source} at {zenodo_api()}/records/{spec.zenodo_record}"
    say(f"{spec.title}: reading {where if spec.zenodo_record else url or spec.url}")
    remote = _remote_files(spec, url)
    assert spec.check is not None and spec.is_root is not None and spec.next_steps is not None
    result = GetDataResult(dataset=spec.name, folder=folder)

    unchanged = all(
        f.key in recorded and recorded[f.key].get("published_checksum") == f.checksum
        for f in remote
    )
    if source is not None and unchanged and not force:
        problems = spec.check(folder)
        if not problems:
            result.already_present = True
            result.files = [
                FetchedFile(
                    **{k: recorded[f.key].get(k) for k in ("key", "url", "size", "sha256")},
                    published_checksum=f.checksum,
                )
                for f in remote
            ]
            result.next_steps = spec.next_steps(folder)
            return result

    folder.mkdir(parents=True, exist_ok=True)
    sweep_once(folder)
    downloads = folder / DOWNLOADS
    downloads.mkdir(exist_ok=True)
    total = sum(f.size or 0 for f in remote)
    unpublished = [f.key for f in remote if f.checksum is None]
    say(
        f"{len(remote)} file(s)"
        + (f", {_gb(total)}" if total else "")
        + ": "
        + ", ".join(f.key for f in remote)
        + (
            f" (no checksum published for {', '.join(unpublished)}: the SHA-256 of the first "
            "download is recorded)"
            if unpublished
            else " (checksums from the record)"
        )
    )
    have = sum(
        (downloads / f"{f.key}.part").stat().st_size
        for f in remote
        if (downloads / f"{f.key}.part").is_file()
    )
    have += sum((downloads / f.key).stat().st_size for f in remote if (downloads / f.key).is_file())
    _check_free_space(
        folder, total - have, "the download", "free some space or choose another folder"
    )

    # download and verify every file, then extract them together
    weights = [max(1, f.size or 1) for f in remote]
    start = 0.0
    fetched: list[tuple[Path, FetchedFile]] = []
    for remote_file, weight in zip(remote, weights, strict=True):
        span = _DOWNLOAD_SHARE * weight / sum(weights)
        # a file published without a checksum must match the first download's (source.json)
        expected = None if remote_file.checksum else recorded.get(remote_file.key, {}).get("sha256")
        path, record, received = _fetch(
            remote_file, downloads, expected, SubProgress(progress, start, start + span)
        )
        result.downloaded_bytes += received
        fetched.append((path, record))
        start += span
    check_cancelled(progress)

    current = fetched[0][0]
    try:
        needed = 0
        for current, _ in fetched:
            size = extracted_size(current) if is_archive(current.name) else current.stat().st_size
            needed += size if size is not None else 0
        _check_free_space(
            folder,
            needed,
            "extracting the archives",
            f"the verified downloads are kept in {downloads}: free some space and run again",
        )
        say(f"extracting into {folder}")
        sizes = [max(1, p.stat().st_size) for p, _ in fetched]
        start = _DOWNLOAD_SHARE
        with staged_folder(folder) as stage:
            for (current, _), size in zip(fetched, sizes, strict=True):
                span = (1.0 - _DOWNLOAD_SHARE) * size / sum(sizes)
                _place(current, stage, SubProgress(progress, start, start + span))
                start += span
            _hoist_root(stage, spec.is_root)
            (stage / SOURCE_FILE).write_text(
                _source_json(spec, [r for _, r in fetched]), encoding="utf-8"
            )
    except ArchiveError as error:
        # the record's own file is unusable: keeping it would only fail the same way again
        current.unlink(missing_ok=True)
        (downloads / f"{current.name}.verified").unlink(missing_ok=True)
        raise ArchiveError(f"{error}; the download was deleted") from error
    progress.progress(1.0, "done")

    if keep_archives:
        result.archives = downloads
    else:
        for path, _ in fetched:
            path.unlink(missing_ok=True)
            (downloads / f"{path.name}.verified").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            downloads.rmdir()
    result.files = [r for _, r in fetched]
    result.problems = spec.check(folder)
    result.next_steps = spec.next_steps(folder)
    return result
