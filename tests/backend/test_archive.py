"""Safe extraction: ZIP and TAR archives unpack inside their folder, or not at all."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from backend.archive import ArchiveError, extract_archive, extracted_size, is_archive, list_members
from backend.progress import Cancelled
from tests.cancelling import CancelAfter


def write_zip(path: Path, members: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def write_tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            payload = data.get(member.name)
            if payload is not None:
                member.size = len(payload)
            archive.addfile(member, io.BytesIO(payload) if payload is not None else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def everything_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_zip_and_tar_unpack_their_folders_and_files(tmp_path: Path) -> None:
    members = {"top/a.txt": b"alpha", "top/sub/b.bin": bytes(range(256)) * 10, "c.txt": b""}
    archive = write_zip(tmp_path / "x.zip", {"top/": b"", **members})
    target = tmp_path / "zip-out"
    target.mkdir()
    assert extract_archive(archive, target) == 3
    for name, data in members.items():
        assert (target / name).read_bytes() == data
    assert extracted_size(archive) == sum(len(d) for d in members.values())

    tar = write_tar(
        tmp_path / "x.tar.gz",
        [_info("top", tarfile.DIRTYPE)] + [_info(n) for n in members],
        members,
    )
    target = tmp_path / "tar-out"
    target.mkdir()
    assert extract_archive(tar, target) == 3
    for name, data in members.items():
        assert (target / name).read_bytes() == data
    assert [m.path for m in list_members(tar)] == ["top", *members]
    assert is_archive("A.ZIP") and is_archive("b.tar.gz") and not is_archive("metadata.csv")


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt", "C:\\evil.txt"],
)
def test_a_member_outside_the_folder_refuses_the_whole_zip(tmp_path: Path, name: str) -> None:
    archive = write_zip(tmp_path / "bad.zip", {"fine.txt": b"fine", name: b"evil"})
    target = tmp_path / "deep" / "out"
    target.mkdir(parents=True)
    with pytest.raises(ArchiveError, match="refused") as error:
        extract_archive(archive, target)
    assert repr(name) in str(error.value) and str(archive) in str(error.value)
    # nothing written: not the good member, not the bad one anywhere
    assert everything_under(tmp_path / "deep") == ["out"]
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_links_and_special_files_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    archive = write_zip(tmp_path / "link.zip", {"a.txt": b"a"}, links={"link": "/etc/passwd"})
    with pytest.raises(ArchiveError, match="'link' is a link"):
        extract_archive(archive, target)
    cases = {
        "symlink": _info("s", tarfile.SYMTYPE, "/etc/passwd"),
        "hardlink": _info("h", tarfile.LNKTYPE, "a.txt"),
        "fifo": _info("f", tarfile.FIFOTYPE),
        "device": _info("d", tarfile.CHRTYPE),
    }
    for label, member in cases.items():
        tar = write_tar(tmp_path / f"{label}.tar.gz", [_info("a.txt"), member], {"a.txt": b"a"})
        with pytest.raises(ArchiveError, match="refused"):
            extract_archive(tar, target)
        with pytest.raises(ArchiveError, match="refused"):
            list_members(tar)
    assert not (target / "s").exists() and not (target / "h").exists()


def test_a_damaged_archive_says_so(tmp_path: Path) -> None:
    good = write_zip(tmp_path / "good.zip", {"a.bin": bytes(5000)})
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[:100])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ArchiveError, match="cut.zip"):
        extract_archive(cut, target)
    noise = tmp_path / "noise.tar.gz"
    noise.write_bytes(b"\x1f\x8b" + bytes(range(200)))
    with pytest.raises(ArchiveError, match="noise.tar.gz"):
        extract_archive(noise, target)


def test_cancelling_stops_the_extraction(tmp_path: Path) -> None:
    archive = write_zip(tmp_path / "x.zip", {f"f{i}.bin": bytes(100) for i in range(20)})

    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(Cancelled):
        extract_archive(archive, target, CancelAfter(5))
    assert len(list(target.iterdir())) < 20
