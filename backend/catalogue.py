"""The model catalogue: known models by name, and their verified download into the user's model folder.

The catalogue shipped with the plugin (``backend/catalogue.json``) lists the
demo's models and the paper's released checkpoints. The user's model folder
(``$SOUNDING_EARTH_MODELS``, else ``$XDG_DATA_HOME/sounding-earth/models``, else
``~/.local/share/sounding-earth/models``) holds the downloaded model files and a
``catalogue.json`` of its own: entries the user added and the checksums that a
first download recorded for entries published without one.

Nothing is downloaded unless :func:`get_model` is called (``models get NAME``).
A download streams into ``NAME.part`` beside its destination; a cancelled or
killed download keeps that file and the next ``get`` resumes it with an HTTP
Range request (:func:`backend.download.download`). A wrong checksum, a truncated
transfer or an unreachable host raise :class:`CatalogueError` and leave no file
behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.atomic import atomic_write_text
from backend.download import DownloadError, download, sha256_file
from backend.progress import Progress

#: the catalogue that ships with the plugin
SHIPPED_CATALOGUE = Path(__file__).with_name("catalogue.json")
#: the user's own catalogue (added entries, recorded checksums), inside the model folder
USER_CATALOGUE = "catalogue.json"
#: entry formats: a Sounding Earth model file, or a khdlr/SoundingEarth checkpoint to import
FORMATS = ("safetensors", "reference-checkpoint")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class CatalogueError(ValueError):
    """A catalogue entry or download that cannot be used; the message says why."""


@dataclass
class CatalogueEntry:
    """One model the catalogue knows.

    Attributes:
        name: Short unique name (the downloaded file is ``NAME.safetensors``).
        task: ``audiovisual``, ``classifier`` or ``segmentation``.
        architecture: e.g. ``resnet18 image / resnet18 audio``.
        format: ``safetensors`` (a model file) or ``reference-checkpoint``
            (imported with ``import-reference`` after download).
        url: Where to download it (``https://``, ``http://`` or ``file://``), or
            None when the catalogue cannot name the file (see ``page``/``note``).
        sha256: Expected SHA-256 (hex), or None when it is not published.
        image_arch: For reference checkpoints: the image encoder's architecture,
            checked against the weights, or ``auto`` (read from them).
        loss: For reference checkpoints: the ``LossFunction`` of the run (its
            config.yml), which decides the distance the model ranks by (see
            ``backend.models.reference_import.LOSS_DISTANCES``; the paper's is
            ``TripletLoss``).
        licence: Licence of the weights, as far as known.
        size_bytes: Download size, if known.
        paper: The paper the model belongs to.
        page: A web page describing the release.
        note: Anything the user should know (e.g. why the checksum is missing).
        recorded_sha256: The checksum a first download of an entry without
            ``sha256`` saw, which the user confirmed by keeping it.
        source: ``shipped`` or ``user`` (where the entry comes from).
    """

    name: str
    task: str = "audiovisual"
    architecture: str = ""
    format: str = "safetensors"
    url: str | None = None
    sha256: str | None = None
    image_arch: str = "auto"
    loss: str = "TripletLoss"
    licence: str = ""
    size_bytes: int | None = None
    paper: str = ""
    page: str = ""
    note: str = ""
    recorded_sha256: str | None = None
    source: str = "shipped"

    def __post_init__(self) -> None:
        """Check the fields."""
        if not _NAME.match(self.name or ""):
            raise CatalogueError(
                f"catalogue entry name {self.name!r}: use letters, digits, '.', '_' and '-'"
            )
        if self.format not in FORMATS:
            raise CatalogueError(
                f"catalogue entry {self.name}: format must be one of {list(FORMATS)}, "
                f"got {self.format!r}"
            )
        for label in ("sha256", "recorded_sha256"):
            value = getattr(self, label)
            if value is not None:
                value = value.lower()
                if not _SHA256.match(value):
                    raise CatalogueError(
                        f"catalogue entry {self.name}: {label} must be 64 hex digits, got {value!r}"
                    )
                setattr(self, label, value)

    @property
    def checksum(self) -> str | None:
        """The SHA-256 a download must have (published, else recorded), or None."""
        return self.sha256 or self.recorded_sha256

    def to_json(self) -> dict[str, Any]:
        """The entry as stored in a catalogue file (without ``source``)."""
        data = dataclasses.asdict(self)
        data.pop("source")
        if data["loss"] == "TripletLoss":
            data.pop("loss")  # the default
        return {k: v for k, v in data.items() if v not in (None, "")}


def models_folder(folder: str | os.PathLike | None = None) -> Path:
    """The user's model folder: ``folder``, else $SOUNDING_EARTH_MODELS, else the XDG data folder."""
    if folder is not None:
        return Path(folder).expanduser()
    explicit = os.environ.get("SOUNDING_EARTH_MODELS")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sounding-earth" / "models"


def _read_entries(path: Path, source: str) -> list[CatalogueEntry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise CatalogueError(f"{path}: not a readable catalogue ({exc})") from exc
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise CatalogueError(f'{path}: expected {{"models": [...]}}')
    fields = {f.name for f in dataclasses.fields(CatalogueEntry)} - {"source"}
    entries = []
    for number, item in enumerate(models, start=1):
        if not isinstance(item, dict):
            raise CatalogueError(f"{path}: model {number} is not an object")
        unknown = sorted(set(item) - fields)
        if unknown:
            raise CatalogueError(f"{path}: model {number} has unknown fields {unknown}")
        try:
            entries.append(CatalogueEntry(**item, source=source))
        except TypeError as exc:
            raise CatalogueError(f"{path}: model {number}: {exc}") from exc
    return entries


def load_catalogue(folder: str | os.PathLike | None = None) -> dict[str, CatalogueEntry]:
    """Every known entry by name: the shipped catalogue, overlaid by the user's.

    A user entry with a shipped entry's name only adds a recorded checksum to it
    unless it names its own URL.
    """
    entries = {e.name: e for e in _read_entries(SHIPPED_CATALOGUE, "shipped")}
    for user in _read_entries(models_folder(folder) / USER_CATALOGUE, "user"):
        shipped = entries.get(user.name)
        if shipped is not None and not user.url:
            entries[user.name] = dataclasses.replace(shipped, recorded_sha256=user.recorded_sha256)
        else:
            entries[user.name] = user
    return entries


def _save_user_entry(folder: Path, entry: CatalogueEntry) -> None:
    path = folder / USER_CATALOGUE
    existing = [e for e in _read_entries(path, "user") if e.name != entry.name]
    existing.append(entry)
    text = json.dumps({"models": [e.to_json() for e in existing]}, indent=2) + "\n"
    atomic_write_text(path, text)


def add_entry(
    url: str,
    sha256: str | None,
    name: str | None = None,
    task: str = "audiovisual",
    fmt: str = "safetensors",
    image_arch: str = "auto",
    folder: str | os.PathLike | None = None,
    loss: str = "TripletLoss",
) -> CatalogueEntry:
    """Add a model to the user's catalogue (nothing is downloaded).

    Args:
        url: Download address (``https://``, ``http://`` or ``file://``).
        sha256: Its SHA-256, or None when unknown (the first download records it).
        name: Entry name (default: the file name without suffix).
        task: ``audiovisual``, ``classifier`` or ``segmentation``.
        fmt: ``safetensors`` or ``reference-checkpoint``.
        image_arch: Image architecture of a reference checkpoint.
        folder: The model folder (default: :func:`models_folder`).
        loss: The ``LossFunction`` a reference checkpoint was trained with.

    Raises:
        CatalogueError: Bad URL, name, checksum, format or loss.
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https", "file"):
        raise CatalogueError(f"{url}: expected an http://, https:// or file:// address")
    if fmt == "reference-checkpoint":
        from backend.models.reference_import import LOSS_DISTANCES

        if loss not in LOSS_DISTANCES:
            raise CatalogueError(f"--loss must be one of {sorted(LOSS_DISTANCES)}, got {loss!r}")
    if name is None:
        stem = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
        name = stem.split(".")[0] or "model"
    entry = CatalogueEntry(
        name=name,
        task=task,
        format=fmt,
        url=url,
        sha256=sha256,
        image_arch=image_arch,
        loss=loss,
        source="user",
    )
    target = models_folder(folder)
    target.mkdir(parents=True, exist_ok=True)
    _save_user_entry(target, entry)
    return entry


@dataclass
class GetResult:
    """What :func:`get_model` did."""

    path: Path
    sha256: str
    #: True when the entry had no checksum and this download's was recorded
    recorded: bool = False
    #: True when the model was already there and verified, nothing downloaded
    already_present: bool = False
    #: bytes that came over the network in this call (resumed bytes excluded)
    downloaded_bytes: int = 0


def get_model(
    name: str,
    folder: str | os.PathLike | None = None,
    url: str | None = None,
    progress: Progress | None = None,
) -> GetResult:
    """Download a catalogue model into the model folder, verify it, and import it if needed.

    Args:
        name: Catalogue entry name.
        folder: The model folder (default: :func:`models_folder`).
        url: Download address for an entry whose catalogue record has none.
        progress: Progress and cancellation.

    Returns:
        Where the model file is, and its checksum.

    Raises:
        CatalogueError: Unknown name, no address, checksum mismatch, truncated or
            failed download, or a file that is not a model (nothing is kept).
        Cancelled: Cancelled (the partial download is kept for resuming).
    """
    entries = load_catalogue(folder)
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(sorted(entries)) or "none"
        raise CatalogueError(f"no model called {name!r} in the catalogue (known: {known})")
    address = url or entry.url
    if not address:
        if entry.page:
            raise CatalogueError(
                f"{name}: the catalogue has no file address for this model: copy it from "
                f"{entry.page} and pass it with --url (the first download shows its SHA-256 "
                "for you to confirm)"
            )
        raise CatalogueError(f"{name}: nothing to download ({entry.note or 'no address'})")
    target_dir = models_folder(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    final = target_dir / f"{name}.safetensors"
    if final.is_file():
        from backend.models.modelfile import load_model_metadata

        metadata = load_model_metadata(final)
        recorded = metadata.provenance.get("catalogue_sha256")
        if recorded and entry.checksum in (None, recorded):
            return GetResult(final, recorded, already_present=True)
    part = target_dir / f"{name}.part"
    try:
        received = download(address, part, progress)
    except DownloadError as exc:
        raise CatalogueError(str(exc)) from exc
    actual = sha256_file(part)
    expected = entry.checksum
    if expected is not None and actual != expected:
        part.unlink()
        raise CatalogueError(
            f"{name}: checksum mismatch: expected SHA-256 {expected}, the download has "
            f"{actual}; the file was deleted"
        )
    try:
        _install(entry, part, final, actual)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    recorded_now = expected is None
    if recorded_now:
        record = dataclasses.replace(entry, recorded_sha256=actual, source="user")
        if entry.source == "shipped":
            record = CatalogueEntry(name=name, recorded_sha256=actual, source="user")
        _save_user_entry(target_dir, record)
    return GetResult(final, actual, recorded=recorded_now, downloaded_bytes=received)


def _is_safetensors(path: Path) -> bool:
    """Whether a file starts as a safetensors file does (8-byte header length, then ``{``)."""
    with path.open("rb") as handle:
        start = handle.read(9)
    return len(start) == 9 and start[8:9] == b"{"


def _install(entry: CatalogueEntry, part: Path, final: Path, sha256: str) -> None:
    """Turn a verified download into ``final``, importing a reference checkpoint first."""
    from backend.models.modelfile import ModelFileError, load_model_file, save_model_file

    staged = part.with_name(part.name + ".safetensors")
    checkpoint = part.with_name(part.name + ".pt")
    try:
        if entry.format == "reference-checkpoint" or not _is_safetensors(part):
            # a .pt checkpoint or a release ZIP holding one: imported whatever the entry says
            from backend.models.reference_import import import_reference_checkpoint

            os.replace(part, checkpoint)
            import_reference_checkpoint(
                checkpoint,
                staged,
                image_arch=entry.image_arch,
                # the default lets a release ZIP's config.yml name its loss
                loss=None if entry.loss == "TripletLoss" else entry.loss,
            )
        else:
            os.replace(part, staged)
        state, metadata = load_model_file(staged)
        # which download the file came from, so a later get can skip it
        metadata.provenance = {
            **metadata.provenance,
            "catalogue_name": entry.name,
            "catalogue_sha256": sha256,
        }
        save_model_file(final, state, metadata)
    except (ModelFileError, FileNotFoundError) as exc:
        raise CatalogueError(f"{entry.name}: the download is not a usable model ({exc})") from exc
    finally:
        for leftover in (staged, checkpoint):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


@dataclass
class AvailableModel:
    """A model file the user has, as every model chooser of the plugin lists it."""

    #: what a chooser shows: the file's name and where it comes from
    label: str
    path: Path
    #: ``audiovisual`` or ``classifier``
    kind: str
    #: ``folder`` (the user's model folder, where ``models get`` downloads) or ``demo``
    source: str


#: the demo's models, relative to its output folder (``python -m backend demo``)
DEMO_MODELS = ("pretrain/model.safetensors", "classifier.safetensors")


def available_models(
    kinds: tuple[str, ...] | str | None = None,
    folder: str | os.PathLike | None = None,
    demo_output: str | os.PathLike | None = None,
) -> list[AvailableModel]:
    """The model files the user has: the one home of "which models can I choose".

    The ``*.safetensors`` files of the user's model folder (:func:`models_folder`,
    where ``models get`` puts them), by name, then the demo's models
    (:data:`DEMO_MODELS` under ``demo_output``) when they exist. Files that are not
    model files (or are being written) are left out.

    Args:
        kinds: Only models of these kinds (``audiovisual``, ``classifier``,
            ``segmentation``); None: all.
        folder: The model folder (default: :func:`models_folder`).
        demo_output: The demo's output folder, or None to leave the demo out.
    """
    wanted = (kinds,) if isinstance(kinds, str) else kinds
    candidates: list[tuple[Path, str, str]] = []
    models_dir = models_folder(folder)
    if models_dir.is_dir():
        candidates += [(p, p.stem, "folder") for p in sorted(models_dir.glob("*.safetensors"))]
    if demo_output is not None:
        candidates += [(Path(demo_output) / name, name, "demo") for name in DEMO_MODELS]
    found: list[AvailableModel] = []
    seen: set[Path] = set()
    for path, name, source in candidates:
        if not path.is_file() or path.resolve() in seen:
            continue
        if path.name.startswith(".") or path.name.endswith(".part.safetensors"):
            continue  # a download or a write in progress
        kind = _model_kind(path)
        if kind is None or (wanted is not None and kind not in wanted):
            continue
        seen.add(path.resolve())
        where = "demo" if source == "demo" else "my models"
        found.append(AvailableModel(f"{name} ({where})", path, kind, source))
    return found


def _model_kind(path: Path) -> str | None:
    """The ``kind`` in a model file's safetensors header, or None for any other file.

    Reads the header alone, without PyTorch (the plugin's panel lists models at QGIS
    start-up): 8 bytes of little-endian length, then that much JSON whose
    ``__metadata__`` holds the model file's metadata.
    """
    try:
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 2 <= size <= 100_000_000:
                return None
            header = json.loads(handle.read(size))
    except (OSError, ValueError):
        return None
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict) or "format_version" not in metadata:
        return None
    kind = metadata.get("kind")
    # backend.models.modelfile.KINDS, without importing PyTorch
    return kind if kind in ("audiovisual", "classifier", "segmentation") else None
