"""tools/translations.py (make translations) and the German translation it keeps complete."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.tool_modules import load_tool

ROOT = Path(__file__).resolve().parent.parent
translations = load_tool("translations")

PLUGIN_SOURCE = textwrap.dedent(
    """\
    from sounding_qgis.i18n import tr, translatable

    TITLE = translatable("Sounds here")


    class Algorithm:
        DISPLAY_NAME = "Classify raster"
        GROUP = "Imagery"
        HELP = ("Classifies " "imagery.")

        def text(self, count):
            return self.tr("Tiles per model call"), tr("{count} tiles").format(count=count)
    """
)


def _plugin(tmp_path: Path, source: str = PLUGIN_SOURCE) -> Path:
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    (plugin / "module.py").write_text(source, encoding="utf-8")
    return plugin


def test_extract_finds_every_kind_of_mark(tmp_path: Path):
    sources = [m.source for m in translations.extract(_plugin(tmp_path))]
    assert set(sources) == {
        "Sounds here",
        "Classify raster",
        "Imagery",
        "Classifies imagery.",
        "Tiles per model call",
        "{count} tiles",
    }


def test_an_f_string_in_tr_is_refused_with_its_place(tmp_path: Path):
    plugin = _plugin(tmp_path, 'from x import tr\n\n\ndef f(n):\n    return tr(f"{n} tiles")\n')
    with pytest.raises(translations.TranslationError, match=r"module.py:5: tr\(\) of an f-string"):
        translations.extract(plugin)


def test_update_keeps_translations_adds_new_texts_and_marks_vanished(tmp_path: Path):
    plugin = _plugin(tmp_path)
    folder = tmp_path / "i18n"
    folder.mkdir()
    german = folder / "sounding_qgis_de.ts"
    messages = [translations.Message("Sounds here"), translations.Message("Gone text")]
    translations.write_ts(
        german, messages, "de", {"Sounds here": ("Töne hier", ""), "Gone text": ("Weg", "")}
    )
    report = translations.update(folder, plugin)
    assert report["sounding_qgis_de.ts"] == {"translated": 1, "unfinished": 5, "vanished": 1}
    assert report["sounding_qgis.ts"]["unfinished"] == 6
    known = translations.read_ts(german)
    assert known["Sounds here"] == ("Töne hier", "")
    assert known["Gone text"] == ("Weg", "vanished")
    assert known["Imagery"] == ("", "unfinished")
    assert "Imagery" in translations.missing_translations(german, plugin)


def test_the_german_translation_is_complete():
    german = ROOT / "sounding_qgis" / "i18n" / "sounding_qgis_de.ts"
    assert translations.missing_translations(german) == []
    known = translations.read_ts(german)
    assert known["Classify raster"][0] == "Raster klassifizieren"


def test_compiled_german_is_loaded_by_qt(tmp_path: Path):
    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    (qm,) = translations.compile_all(tmp_path)
    assert qm.name == "sounding_qgis_de.qm"
    translator = QTranslator()
    assert translator.load(str(qm))
    # (QTranslator.translate takes ASCII source texts under PyQt5)
    assert translator.translate("SoundingEarth", "Classify raster") == "Raster klassifizieren"
    assert QCoreApplication.translate("SoundingEarth", "Models…") == "Models…"  # not installed


def test_template_and_german_list_todays_texts():
    """`make translations` was run after the last text change (the .ts files are committed)."""
    texts = {m.source for m in translations.extract()}
    assert set(translations.read_ts(translations.TEMPLATE)) == texts
    german = translations.read_ts(translations.I18N / "sounding_qgis_de.ts")
    assert {s for s, (_t, kind) in german.items() if kind != "vanished"} == texts
