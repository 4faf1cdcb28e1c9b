"""The real demo's sounds: the ambient clips of LinCity-NG, from the Debian package ``lincity-ng-data``."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.atomic import atomic_write_text
from backend.data.real_sources import (
    REAL_CLASSES,
    RealDataError,
    RegistryUnreachable,
    SourceFile,
    copy_stream,
    extract_once,
)
from backend.download import sha256_file

#: the sound package: Debian, fetched with ``apt-get download`` (no root needed)
LINCITY_PACKAGE = "lincity-ng-data"
LINCITY_SOUNDS = "usr/share/games/lincity-ng/sounds"
LINCITY_COPYRIGHT = "usr/share/doc/lincity-ng-data/copyright"
LINCITY_LICENCE_URL = "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html"
#: plays them for its building types; we pick those that sound like the land cover:
#: lakes, rivers and harbours for water; the birdsong of its parks for forest;
#: farms (animals, tractors) for farmland; traffic, homes, markets, crowds, schools,
#: industry and trains for urban. Fires, mines, rockets, power plants and the
#: interface clicks are left out.
SOUND_CLASSES: dict[str, tuple[str, ...]] = {
    "water": ("Water", "ParklandLake", "Harbor"),
    "forest": ("Green", "ParklandPlane"),
    "farmland": ("Farm", "OrganicFarm"),
    "urban": (
        "TraficHigh",
        "TraficLow",
        "ResidentialLowLow",
        "ResidentialLow",
        "ResidentialMed",
        "ResidentialHigh",
        "MarketEmpty",
        "MarketLow",
        "MarketMed",
        "MarketFull",
        "SportsCroud",
        "School",
        "IndustryLight",
        "IndustryHigh",
        "RailTrain",
    ),
}


@dataclass(frozen=True)
class SoundSource:
    """Sound clips laid out as in the extracted Debian package."""

    #: the folder the package was extracted into
    root: Path
    package: str
    origin: str
    licence: str
    archive: str = ""
    archive_sha256: str = ""
    #: folder of the clips, inside ``root``
    sounds: str = LINCITY_SOUNDS

    def clips(self) -> dict[str, list[Path]]:
        """The clips of each class (see :data:`SOUND_CLASSES`), sorted by name."""
        folder = self.root / self.sounds
        found: dict[str, list[Path]] = {name: [] for name in REAL_CLASSES}
        for path in sorted(folder.glob("*.wav")):
            name = path.stem.rstrip("0123456789")
            for class_name, names in SOUND_CLASSES.items():
                if name in names:
                    found[class_name].append(path)
        return found

    def file(self, path: Path) -> SourceFile:
        return SourceFile(
            path=path,
            member=path.relative_to(self.root).as_posix(),
            package=self.package,
            origin=self.origin,
            licence=self.licence,
            archive=self.archive,
            archive_sha256=self.archive_sha256,
        )


def _run(command: Sequence[str], cwd: Path, advice: str) -> subprocess.CompletedProcess:
    """Run ``command``; a missing program raises RealDataError, a failure RegistryUnreachable."""
    try:
        result = subprocess.run(
            list(command), cwd=cwd, capture_output=True, text=True, timeout=600, check=False
        )
    except FileNotFoundError:
        raise RealDataError(f"`{' '.join(command)}`: {command[0]} not found; {advice}") from None
    except subprocess.TimeoutExpired:
        raise RegistryUnreachable(f"`{' '.join(command)}` took over 10 minutes; {advice}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise RegistryUnreachable(
            f"`{' '.join(command)}` failed (exit {result.returncode}: {' / '.join(output)}); "
            f"{advice}"
        )
    return result


def fetch_lincity_deb(cache: Path) -> Path:
    """The ``lincity-ng-data`` .deb in ``cache/downloads``, fetched once with ``apt-get download``.

    ``apt-get download`` needs no root; it checks the file against the signed
    package index. Its sha256 is kept beside it, so a damaged file is fetched again.

    Raises:
        RealDataError: apt-get is missing.
        RegistryUnreachable: the download failed.
    """
    downloads = cache / "downloads"
    for deb in sorted(downloads.glob(f"{LINCITY_PACKAGE}_*_all.deb"), reverse=True):
        stamp = deb.with_name(deb.name + ".sha256")
        if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == sha256_file(deb):
            return deb
    downloads.mkdir(parents=True, exist_ok=True)
    # a hidden scratch folder beside the downloads, removed however this ends
    with tempfile.TemporaryDirectory(
        prefix=".apt.", dir=downloads, ignore_cleanup_errors=True
    ) as name:
        work = Path(name)
        _run(
            ["apt-get", "download", LINCITY_PACKAGE],
            work,
            "lincity-ng-data is a Debian package: on Debian or Ubuntu run `apt-get update` "
            "(as root) if the package is unknown, and check the network; elsewhere download "
            f"it from https://packages.debian.org/bookworm/all/{LINCITY_PACKAGE}/download "
            f"and put the .deb into {downloads}",
        )
        found = sorted(work.glob(f"{LINCITY_PACKAGE}_*_all.deb"))
        if not found:
            raise RealDataError(f"`apt-get download {LINCITY_PACKAGE}` wrote no .deb into {work}")
        deb = downloads / found[-1].name.replace("%3a", ":")
        os.replace(found[-1], deb)
        atomic_write_text(deb.with_name(deb.name + ".sha256"), sha256_file(deb) + "\n")
    return deb


def _deb_members(deb: Path) -> Iterator[tuple[str, int, int]]:
    """``(name, offset, size)`` of each member of a .deb (an ``ar`` archive)."""
    with open(deb, "rb") as handle:
        if handle.read(8) != b"!<arch>\n":
            raise RealDataError(f"{deb}: not a Debian package (no ar header)")
        offset = 8
        while True:
            header = handle.read(60)
            if len(header) < 60:
                return
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            size = int(header[48:58].decode("ascii").strip())
            yield name, offset + 60, size
            offset += 60 + size + (size % 2)
            handle.seek(offset)


def _deb_version(deb: Path) -> str:
    # file names are PACKAGE_VERSION_ARCH.deb (an epoch's ':' written as %3a)
    return deb.name.split("_")[1].replace("%3a", ":")


def extract_lincity(deb: Path, cache: Path) -> SoundSource:
    """Extract the sound clips and the copyright file from the .deb, once.

    Reads the package's ``data.tar.*`` with Python (no ``dpkg-deb`` needed), keeping
    only the clips and the copyright file, at their paths in the package.
    """
    digest = sha256_file(deb)
    folder = cache / LINCITY_PACKAGE

    def extract(tmp: Path) -> None:
        data = [m for m in _deb_members(deb) if m[0].startswith("data.tar")]
        if not data:
            raise RealDataError(f"{deb}: no data.tar member; is it a Debian package?")
        _, offset, size = data[0]
        with open(deb, "rb") as handle:
            handle.seek(offset)
            payload = handle.read(size)
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:*") as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix("./")
                wanted = name == LINCITY_COPYRIGHT or (
                    name.startswith(LINCITY_SOUNDS + "/") and name.endswith(".wav")
                )
                if not (wanted and member.isfile()) or ".." in Path(name).parts:
                    continue
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:
                    raise RealDataError(f"{deb}: cannot read {member.name}")
                copy_stream(source, target)
        if not (tmp / LINCITY_COPYRIGHT).is_file():
            raise RealDataError(f"{deb}: {LINCITY_COPYRIGHT} is missing from the package")

    extract_once(folder, digest, extract)
    return lincity_source(folder, _deb_version(deb), deb.name, digest)


def lincity_source(
    root: Path, version: str, archive: str = "", archive_sha256: str = ""
) -> SoundSource:
    """A :class:`SoundSource` for an extracted ``lincity-ng-data`` tree (licence read from it)."""
    return SoundSource(
        root=root,
        package=f"{LINCITY_PACKAGE} {version} (Debian)",
        origin=f"Debian package {LINCITY_PACKAGE} {version} (apt-get download {LINCITY_PACKAGE})",
        licence=copyright_licence(root / LINCITY_COPYRIGHT),
        archive=archive,
        archive_sha256=archive_sha256,
    )


def copyright_licence(path: Path) -> str:
    """The licence of ``Files: *`` in a machine-readable Debian copyright file, with its comment."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise RealDataError(f"{path}: cannot read the copyright file ({error})") from None
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = ""
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and current:
                fields[current] += " " + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                fields[current.strip()] = value.strip()
        if fields.get("Files") == "*" and fields.get("License"):
            comment = " ".join(fields.get("Comment", "").split())
            return f"{fields['License']} ({comment})" if comment else fields["License"]
    raise RealDataError(f"{path}: no 'Files: *' stanza with a License field")
