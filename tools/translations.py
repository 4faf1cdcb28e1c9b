"""The plugin's translations: collect its texts into .ts files, compile them to .qm.

    python tools/translations.py update     template + every language's .ts (make translations)
    python tools/translations.py compile [--out DIR]    .ts -> .qm (lrelease)
    python tools/translations.py check      fail when a language misses a translation

Texts are found in the syntax tree of ``sounding_qgis/`` (nothing is imported):

- ``tr("…")``, ``self.tr("…")`` and ``translatable("…")`` (sounding_qgis/i18n.py);
- ``QCoreApplication.translate("SoundingEarth", "…")``;
- the class attributes ``DISPLAY_NAME``, ``GROUP`` and ``HELP`` of the Processing
  algorithms (their base class shows them through ``tr``).

A ``tr()`` of anything but a plain string (an f-string, a variable that is not marked
with ``translatable``) cannot be collected: ``update`` names it and fails, so every
text is written as ``tr("… {name} …").format(name=…)``.

``update`` writes ``sounding_qgis/i18n/sounding_qgis.ts`` (the template: every text,
nothing translated) and brings each ``sounding_qgis_<language>.ts`` up to date: new
texts are added as unfinished, translations of texts that are gone are kept as
"vanished" (lrelease leaves them out). ``compile`` runs Qt's ``lrelease`` (Debian's
``qttools5-dev-tools``, which ``make setup`` installs) on each language.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "sounding_qgis"
I18N = PLUGIN / "i18n"
CONTEXT = "SoundingEarth"  # sounding_qgis.i18n.CONTEXT
STEM = "sounding_qgis"  # sounding_qgis.i18n.STEM
TEMPLATE = I18N / f"{STEM}.ts"
MARKERS = {"tr", "translatable"}
CLASS_ATTRIBUTES = {"DISPLAY_NAME", "GROUP", "HELP"}


@dataclass
class Message:
    """One text to translate and where it is used."""

    source: str
    files: list[str] = field(default_factory=list)


class TranslationError(ValueError):
    """A text that cannot be collected, or a translation that is missing."""


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _collect(tree: ast.AST, filename: str) -> tuple[list[str], list[str]]:
    """(texts, problems) of one module."""
    texts: list[str] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in MARKERS and node.args:
                text = _string(node.args[0])
                if text is not None:
                    texts.append(text)
                elif isinstance(node.args[0], ast.JoinedStr):
                    problems.append(
                        f"{filename}:{node.lineno}: {name}() of an f-string cannot be "
                        'translated; write tr("… {name} …").format(name=…)'
                    )
            elif name == "translate" and len(node.args) >= 2:
                context, text = _string(node.args[0]), _string(node.args[1])
                if context == CONTEXT and text is not None:
                    texts.append(text)
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target = statement.targets[0]
                    text = _string(statement.value)
                    if isinstance(target, ast.Name) and target.id in CLASS_ATTRIBUTES and text:
                        texts.append(text)
    return [t for t in texts if t], problems


def extract(plugin: Path = PLUGIN) -> list[Message]:
    """Every text of the plugin to translate, in order of first use (files sorted).

    Raises:
        TranslationError: A ``tr()`` whose text cannot be collected (names file and line).
    """
    messages: dict[str, Message] = {}
    problems: list[str] = []
    for path in sorted(plugin.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        relative = path.relative_to(plugin).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        texts, found = _collect(tree, relative)
        problems += found
        for text in texts:
            message = messages.setdefault(text, Message(text))
            if relative not in message.files:
                message.files.append(relative)
    if problems:
        raise TranslationError("\n".join(problems))
    return list(messages.values())


# --- .ts files ------------------------------------------------------------------------------


def read_ts(path: Path) -> dict[str, tuple[str, str]]:
    """source -> (translation, type) of a .ts file (type: '', 'unfinished' or 'vanished')."""
    if not path.is_file():
        return {}
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise TranslationError(f"{path}: not a readable .ts file ({error})") from error
    found: dict[str, tuple[str, str]] = {}
    for message in root.iter("message"):
        source = message.findtext("source") or ""
        translation = message.find("translation")
        text = (translation.text or "") if translation is not None else ""
        kind = translation.get("type", "") if translation is not None else "unfinished"
        found[source] = (text, kind)
    return found


def ts_language(path: Path) -> str:
    """``de`` for ``sounding_qgis_de.ts``."""
    return path.stem[len(STEM) + 1 :]


def write_ts(
    path: Path,
    messages: list[Message],
    language: str | None,
    previous: dict[str, tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Write ``messages`` as a .ts file (atomically); keep the translations of ``previous``.

    Returns counts: ``translated``, ``unfinished``, ``vanished``.
    """
    previous = previous or {}
    root = ET.Element("TS", version="2.1", sourcelanguage="en")
    if language:
        root.set("language", language)
    context = ET.SubElement(root, "context")
    ET.SubElement(context, "name").text = CONTEXT
    counts = {"translated": 0, "unfinished": 0, "vanished": 0}
    current = {m.source for m in messages}

    def add(source: str, files: list[str], text: str, kind: str) -> None:
        element = ET.SubElement(context, "message")
        for filename in files:
            ET.SubElement(element, "location", filename=f"../{filename}")
        ET.SubElement(element, "source").text = source
        translation = ET.SubElement(element, "translation")
        if kind:
            translation.set("type", kind)
        translation.text = text
        counts["translated" if not kind else kind] += 1

    for message in messages:
        text, kind = previous.get(message.source, ("", "unfinished"))
        if language is None:
            text, kind = "", "unfinished"
        elif not text:
            kind = "unfinished"
        elif kind == "vanished":
            kind = ""  # the text is back
        add(message.source, message.files, text, kind)
    for source, (text, _kind) in previous.items():
        if source not in current and text and language is not None:
            add(source, [], text, "vanished")
    ET.indent(root, space="    ")
    body = ET.tostring(root, encoding="unicode")
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n", encoding="utf-8"
    )
    os.replace(tmp, path)
    return counts


def language_files(folder: Path = I18N) -> list[Path]:
    """The translations: ``sounding_qgis_<language>.ts``."""
    return sorted(folder.glob(f"{STEM}_*.ts"))


def update(folder: Path = I18N, plugin: Path = PLUGIN) -> dict[str, dict[str, int]]:
    """Write the template and bring every language up to date; return each file's counts."""
    messages = extract(plugin)
    folder.mkdir(parents=True, exist_ok=True)
    report = {TEMPLATE.name: write_ts(folder / TEMPLATE.name, messages, None)}
    for path in language_files(folder):
        report[path.name] = write_ts(path, messages, ts_language(path), read_ts(path))
    return report


def missing_translations(path: Path, plugin: Path = PLUGIN) -> list[str]:
    """The plugin's texts that ``path`` does not translate (unfinished, empty or absent)."""
    known = read_ts(path)
    return [
        m.source
        for m in extract(plugin)
        if not known.get(m.source, ("", ""))[0] or known[m.source][1] == "unfinished"
    ]


# --- .qm files ------------------------------------------------------------------------------


def lrelease() -> str:
    """Qt's lrelease.

    Raises:
        TranslationError: It is not installed (Debian: qttools5-dev-tools).
    """
    for candidate in ("lrelease", "/usr/lib/qt5/bin/lrelease", "lrelease-qt5", "lrelease6"):
        found = shutil.which(candidate)
        if found:
            return found
    raise TranslationError(
        "lrelease (Qt's translation compiler) is not installed: "
        "apt-get install qttools5-dev-tools (make setup installs it)"
    )


def compile_qm(ts: Path, qm: Path) -> Path:
    """Compile ``ts`` into ``qm`` (written to a temporary name, then renamed)."""
    qm.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=qm.parent, prefix=".qm-") as tmp:
        partial = Path(tmp) / qm.name
        result = subprocess.run(
            [lrelease(), "-silent", str(ts), "-qm", str(partial)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or not partial.is_file():
            raise TranslationError(f"{ts}: lrelease failed\n{result.stdout}{result.stderr}")
        os.replace(partial, qm)
    return qm


def compile_all(out: Path = I18N, folder: Path = I18N) -> list[Path]:
    """Every language's .qm into ``out``; returns them."""
    return [compile_qm(ts, out / f"{ts.stem}.qm") for ts in language_files(folder)]


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's help)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update", help="write the .ts template and update each language")
    compile_parser = sub.add_parser("compile", help="compile each language's .ts to .qm")
    compile_parser.add_argument("--out", type=Path, default=I18N)
    sub.add_parser("check", help="fail when a language misses a translation")
    args = parser.parse_args(argv)
    try:
        if args.command == "update":
            for name, counts in update().items():
                print(f"{name}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
        elif args.command == "compile":
            for path in compile_all(args.out):
                print(path)
        else:
            incomplete = {p.name: missing_translations(p) for p in language_files()}
            for name, missing in incomplete.items():
                for source in missing:
                    print(f"{name}: not translated: {source!r}")
            if any(incomplete.values()):
                return 1
            print(f"{len(incomplete)} translations complete")
    except TranslationError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
