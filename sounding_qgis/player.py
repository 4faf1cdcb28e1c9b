"""Playing a recording inside QGIS: QtMultimedia where QGIS has it, else the system's player."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from qgis.PyQt.QtCore import QObject, QTimer, QUrl, pyqtSignal

from sounding_qgis.i18n import tr

#: command-line players tried in order: (program, arguments before the file, suffixes it plays)
SYSTEM_PLAYERS: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("ffplay", ["-nodisp", "-autoexit", "-loglevel", "quiet"], ()),  # () = every format
    ("mpv", ["--no-video", "--really-quiet"], ()),
    ("afplay", [], ()),  # macOS
    ("paplay", [], (".wav", ".flac", ".ogg")),
    ("play", ["-q"], (".wav", ".flac", ".ogg")),  # SoX
    ("aplay", ["-q"], (".wav",)),
]


def qt_media_player():
    """A ``QMediaPlayer`` when QtMultimedia is installed, else None.

    Under Qt 6 the player needs a ``QAudioOutput`` to be heard; it is kept on the player.
    """
    try:
        from qgis.PyQt.QtMultimedia import QMediaPlayer
    except ImportError:
        return None
    player = QMediaPlayer()
    if hasattr(player, "setAudioOutput"):  # Qt 6
        from qgis.PyQt.QtMultimedia import QAudioOutput

        player._audio_output = QAudioOutput(player)
        player.setAudioOutput(player._audio_output)
    return player


def _playing_state():
    """``QMediaPlayer``'s "playing" state: Qt 6 calls the enum PlaybackState, Qt 5 State."""
    from qgis.PyQt.QtMultimedia import QMediaPlayer

    if hasattr(QMediaPlayer, "PlaybackState"):
        return QMediaPlayer.PlaybackState.PlayingState
    return QMediaPlayer.State.PlayingState  # qt5-only


def system_player_command(path: str | Path) -> list[str] | None:
    """The first installed command-line player that plays ``path``'s format, or None."""
    suffix = Path(path).suffix.lower()
    for program, arguments, suffixes in SYSTEM_PLAYERS:
        if suffixes and suffix not in suffixes:
            continue
        found = shutil.which(program)
        if found:
            return [found, *arguments, str(path)]
    return None


class SoundPlayer(QObject):
    """Plays one recording at a time; ``stop`` ends it.

    Uses QtMultimedia's ``QMediaPlayer`` when available; otherwise a command-line
    player (ffplay, mpv, afplay, paplay, SoX, aplay); otherwise hands the file to
    the system's default application (which cannot be stopped from here).
    """

    #: True when playback starts, False when it stops or ends
    playingChanged = pyqtSignal(bool)  # noqa: N815 (Qt naming)

    def __init__(self, parent=None, use_qt: bool = True) -> None:
        """``use_qt=False`` skips QtMultimedia (tests of the system-player path)."""
        super().__init__(parent)
        self._media = qt_media_player() if use_qt else None
        self._process: subprocess.Popen | None = None
        self._watch = QTimer(self)
        self._watch.setInterval(250)
        self._watch.timeout.connect(self._check_process)
        self.backend = "qtmultimedia" if self._media is not None else "system"
        if self._media is not None:
            if hasattr(self._media, "playbackStateChanged"):  # Qt 6
                self._media.playbackStateChanged.connect(self._media_state)
            else:
                self._media.stateChanged.connect(self._media_state)

    def play(self, path: str | Path) -> str:
        """Start playing ``path`` (stopping what plays); return how it is played."""
        self.stop()
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(tr("{path}: recording not found").format(path=path))
        if self._media is not None:
            url = QUrl.fromLocalFile(str(path))
            if hasattr(self._media, "setSource"):  # Qt 6
                self._media.setSource(url)
            else:
                from qgis.PyQt.QtMultimedia import QMediaContent  # qt5-only

                self._media.setMedia(QMediaContent(url))
            self._media.play()
            return "qtmultimedia"
        command = system_player_command(path)
        if command is not None:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._watch.start()
            self.playingChanged.emit(True)
            return Path(command[0]).name
        self._open_with_system(path)
        return "default application"

    def stop(self) -> None:
        """Stop playback (no effect when nothing plays)."""
        if self._media is not None:
            self._media.stop()
        if self._process is not None:
            process, self._process = self._process, None
            self._watch.stop()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    process.kill()
            self.playingChanged.emit(False)

    def is_playing(self) -> bool:
        """Whether a recording is playing (as far as this player can tell)."""
        if self._media is not None:
            state = (
                self._media.playbackState()
                if hasattr(self._media, "playbackState")
                else self._media.state()
            )
            return state == _playing_state()
        return self._process is not None and self._process.poll() is None

    def _check_process(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            self._process = None
            self._watch.stop()
            self.playingChanged.emit(False)

    def _media_state(self, state) -> None:
        self.playingChanged.emit(state == _playing_state())

    @staticmethod
    def _open_with_system(path: Path) -> None:
        from qgis.PyQt.QtGui import QDesktopServices

        if sys.platform.startswith("win"):
            import os

            os.startfile(str(path))  # noqa: S606 (the user's own file)
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
