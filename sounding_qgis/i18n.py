"""The plugin's translations: ``tr()`` for every user-visible text, and the translator of QGIS's locale.

Texts are marked in the code with :func:`tr` (translated where they are shown) or
:func:`translatable` (constants, translated later with :func:`tr`);
``tools/translations.py`` (``make translations``) collects both into
``i18n/sounding_qgis.ts`` and the translations ``i18n/sounding_qgis_<language>.ts``,
and compiles those to ``.qm`` files, which ``make package`` puts into the ZIP. At
start-up :func:`install_translator` loads the ``.qm`` of QGIS's locale.

Error messages that come from ``backend/`` (which knows nothing of Qt) stay English.
"""

from __future__ import annotations

from pathlib import Path

#: the one translation context of the plugin
CONTEXT = "SoundingEarth"
#: where the .ts and .qm files live (inside the plugin folder)
I18N_DIR = Path(__file__).resolve().parent / "i18n"
#: file name stem of the translations: sounding_qgis_<language>.qm
STEM = "sounding_qgis"

_installed: list = []


def tr(text: str) -> str:
    """``text`` in the language of QGIS (itself where there is no translation)."""
    from qgis.PyQt.QtCore import QCoreApplication

    return QCoreApplication.translate(CONTEXT, text)


def translatable(text: str) -> str:
    """Mark a constant for translation; it is translated where shown, with :func:`tr`."""
    return text


def qgis_language() -> str:
    """The language QGIS runs in (``de``, ``en``, ...): QGIS's locale setting, else the system's."""
    from qgis.core import QgsApplication

    locale = QgsApplication.locale() or ""
    return locale.replace("-", "_").split("_")[0].lower()


def translation_file(language: str, folder: Path = I18N_DIR) -> Path:
    """The compiled translation for ``language`` (which may not exist)."""
    return folder / f"{STEM}_{language}.qm"


def install_translator(language: str | None = None, folder: Path = I18N_DIR):
    """Load the translation of QGIS's language (or ``language``) into the application.

    Returns the ``QTranslator``, or None when there is none for that language
    (English needs none). Installing again replaces the one installed before.
    """
    from qgis.PyQt.QtCore import QCoreApplication, QTranslator

    remove_translator()
    language = qgis_language() if language is None else language
    path = translation_file(language, folder)
    if not language or not path.is_file():
        return None
    translator = QTranslator()
    if not translator.load(str(path)):
        return None
    QCoreApplication.installTranslator(translator)
    _installed.append(translator)
    return translator


def remove_translator() -> None:
    """Remove the translator :func:`install_translator` installed (on unload)."""
    from qgis.PyQt.QtCore import QCoreApplication

    while _installed:
        QCoreApplication.removeTranslator(_installed.pop())
