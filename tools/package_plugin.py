"""Builds the installable plugin ZIP: dist/sounding_qgis-<version>.zip and dist/sounding_qgis.zip.

The ZIP has one top folder, ``sounding_qgis``, holding the plugin code, the
backend it runs, metadata.txt, LICENSE, the icon, requirements.txt and the compiled
translations (``i18n/*.qm``, built here from the .ts files by tools/translations.py):
the ZIP alone is the plugin. Also writes dist/plugins.xml, a custom plugin repository
listing the ZIP (QGIS accepts file:// repository URLs).

It refuses to build when metadata.txt's ``version`` is not semantic versioning or is
not the newest entry of its ``changelog``.
"""

from __future__ import annotations

import argparse
import configparser
import importlib.util
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FOLDER = "sounding_qgis"
#: (source in the repository, destination inside the plugin folder)
CONTENT = [
    ("sounding_qgis", ""),
    ("backend", "backend"),
    ("metadata.txt", "metadata.txt"),
    ("LICENSE", "LICENSE"),
    ("requirements.txt", "requirements.txt"),
    ("constraints.txt", "constraints.txt"),
    ("resources/icon.png", "icon.png"),
    ("resources/styles", "styles"),
]
EXCLUDED_PARTS = {"__pycache__", ".git", ".pytest_cache", ".ruff_cache"}
#: .qm files are compiled afresh into the ZIP; the .ts sources stay out of it
EXCLUDED_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".qm", ".ts"}
#: semantic versioning 2.0 (MAJOR.MINOR.PATCH, optional pre-release and build)
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
#: a changelog entry starts with its version: "0.9.0 ..." (newest first)
CHANGELOG_ENTRY = re.compile(r"^\s*v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\b", re.MULTILINE)


def _translations():
    """tools/translations.py, loaded from beside this file."""
    spec = importlib.util.spec_from_file_location(
        "sounding_translations", Path(__file__).resolve().with_name("translations.py")
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def read_metadata(path: Path = ROOT / "metadata.txt") -> dict[str, str]:
    """The [general] section of metadata.txt."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keep key case (qgisMinimumVersion)
    parser.read(path, encoding="utf-8")
    return dict(parser["general"])


def _files(source: Path):
    if source.is_file():
        yield source, Path()
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or EXCLUDED_PARTS & set(relative.parts):
            continue
        if (
            path.suffix in EXCLUDED_SUFFIXES
            or path.name.startswith(".")
            or ".egg-info" in str(relative)
        ):
            continue
        yield path, relative


def build_zip(out_dir: Path, metadata_path: Path = ROOT / "metadata.txt") -> Path:
    """Write the versioned ZIP (and an unversioned copy) into ``out_dir``; return the versioned one."""
    metadata = read_metadata(metadata_path)
    version = metadata["version"]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PLUGIN_FOLDER}-{version}.zip"
    tmp = target.with_name(target.name + ".partial")
    with (
        tempfile.TemporaryDirectory(prefix="sounding-qm-") as compiled,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for source_name, destination in CONTENT:
            source = metadata_path if source_name == "metadata.txt" else ROOT / source_name
            if not source.exists():
                continue
            for path, relative in _files(source):
                inner = Path(PLUGIN_FOLDER) / destination / relative
                archive.write(path, inner.as_posix())
        for qm in _translations().compile_all(Path(compiled)):
            archive.write(qm, f"{PLUGIN_FOLDER}/i18n/{qm.name}")
    os.replace(tmp, target)
    plain = out_dir / f"{PLUGIN_FOLDER}.zip"
    plain.write_bytes(target.read_bytes())
    # QGIS takes a plugin's id from file_name up to the first dot, so the
    # repository must list the unversioned copy ("sounding_qgis-0" is no id).
    write_repository_xml(out_dir, plain, metadata)
    return target


def write_repository_xml(out_dir: Path, zip_path: Path, metadata: dict[str, str]) -> Path:
    """dist/plugins.xml: a one-plugin repository the QGIS plugin manager can add."""
    fields = {
        "description": metadata["description"],
        "about": metadata["about"],
        "version": metadata["version"],
        "qgis_minimum_version": metadata["qgisMinimumVersion"],
        "qgis_maximum_version": metadata.get("qgisMaximumVersion", ""),
        "homepage": metadata.get("homepage", ""),
        "file_name": zip_path.name,
        "author_name": metadata["author"],
        "download_url": zip_path.resolve().as_uri(),
        "repository": metadata["repository"],
        "tracker": metadata["tracker"],
        "experimental": metadata.get("experimental", "False"),
        "deprecated": metadata.get("deprecated", "False"),
        "tags": metadata.get("tags", ""),
    }
    body = "\n".join(f"    <{k}>{escape(v)}</{k}>" for k, v in fields.items())
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<plugins>\n'
        f'  <pyqgis_plugin name="{escape(metadata["name"])}" version="{escape(metadata["version"])}"'
        f' plugin_id="{PLUGIN_FOLDER}">\n{body}\n  </pyqgis_plugin>\n</plugins>\n'
    )
    path = out_dir / "plugins.xml"
    path.write_text(xml, encoding="utf-8")
    return path


#: rules the official plugin repository (plugins.qgis.org) applies to metadata.txt
REQUIRED_METADATA = (
    "name",
    "qgisMinimumVersion",
    "description",
    "about",
    "version",
    "author",
    "email",
    "repository",
    "tracker",
)
FOLDER_NAME_RULE = re.compile(r"^[a-z_][a-z0-9_]*$")


def metadata_problems(metadata: dict[str, str]) -> list[str]:
    """What the plugin repository would reject in ``metadata`` (empty when fine)."""
    problems = [f"missing or empty '{key}'" for key in REQUIRED_METADATA if not metadata.get(key)]
    for key, value in metadata.items():
        if re.search(r"<[a-zA-Z/][^>]*>", value):
            problems.append(f"'{key}' contains HTML")
    if not re.fullmatch(r"\d+\.\d+(\.\d+)?", metadata.get("qgisMinimumVersion", "")):
        problems.append("qgisMinimumVersion must look like 3.22")
    version = metadata.get("version", "")
    if not SEMVER.fullmatch(version):
        problems.append(f"version {version!r} is not semantic versioning (MAJOR.MINOR.PATCH)")
    newest = changelog_versions(metadata.get("changelog", ""))[:1]
    if not newest:
        problems.append("changelog lists no version (each entry starts with one, newest first)")
    elif newest[0] != version:
        problems.append(
            f"version {version} is not the changelog's newest entry ({newest[0]}): "
            "bump both together"
        )
    return problems


def changelog_versions(changelog: str) -> list[str]:
    """The versions of the changelog's entries, in its order (newest first)."""
    return CHANGELOG_ENTRY.findall(changelog)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "dist", help="output folder (default dist/)"
    )
    parser.add_argument(
        "--metadata",
        type=Path,
        default=ROOT / "metadata.txt",
        help="the metadata.txt to check and package (default: the repository's)",
    )
    args = parser.parse_args(argv)
    problems = metadata_problems(read_metadata(args.metadata))
    if problems:
        raise SystemExit(f"{args.metadata}: " + "; ".join(problems))
    path = build_zip(args.out, args.metadata)
    print(f"{path} ({path.stat().st_size / 1e6:.2f} MB); repository: {args.out / 'plugins.xml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
