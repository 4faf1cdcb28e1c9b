"""The Processing dialogs' widget for model-file parameters: the plugin's :class:`ModelChooser`.

A parameter opts in with :func:`sounding_qgis.model_chooser.chooser_metadata`; this
module is imported by the Processing dialog only (it needs ``processing.gui``).
"""

from __future__ import annotations

from processing.gui.wrappers import WidgetWrapper

from sounding_qgis.model_chooser import MODEL_FILTER, ModelChooser


class ModelChoiceWrapper(WidgetWrapper):
    """The user's models (model folder, demo) and Browse, for a file parameter."""

    def createWidget(  # noqa: N802 (the Processing API's name)
        self, kinds=None, allow_none: str = "", file_filter: str = MODEL_FILTER, **_kwargs
    ) -> ModelChooser:
        """The chooser; a new choice tells the dialog its value changed."""
        chooser = ModelChooser(kinds, allow_none=allow_none, file_filter=file_filter)
        chooser.fileChanged.connect(lambda _path: self.widgetValueHasChanged.emit(self))
        return chooser

    def setValue(self, value) -> None:  # noqa: N802 (the Processing API's name)
        """Choose ``value`` (a path; None or '' chooses no file where that is allowed)."""
        self.widget.setFilePath("" if value is None else str(value))

    def value(self):
        """The chosen path, or None."""
        return self.widget.filePath() or None
