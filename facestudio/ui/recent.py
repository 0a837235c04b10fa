"""A File menu's list of recent files (models, sessions): kept in the settings as a JSON list,
most recent first, at most :data:`MAX_RECENT`; a stored value that is not such a list (edited
by hand) reads as empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from PySide6 import QtCore, QtWidgets

MAX_RECENT = 8


class RecentFiles(QtCore.QObject):
    def __init__(self, settings: QtCore.QSettings, key: str, menu: QtWidgets.QMenu,
                 open_path: Callable[[str], object], parent=None):
        super().__init__(parent)
        self.settings, self.key, self.menu, self.open_path = settings, key, menu, open_path
        self.refresh()

    def paths(self) -> list[str]:
        try:
            recent = json.loads(self.settings.value(self.key, "[]"))
        except (TypeError, ValueError, RecursionError):
            return []
        return [p for p in recent if isinstance(p, str)] if isinstance(recent, list) else []

    def remember(self, path: str | Path) -> None:
        path = str(path)
        recent = [p for p in self.paths() if p != path]
        self.settings.setValue(self.key, json.dumps([path] + recent[:MAX_RECENT - 1]))
        self.refresh()

    def refresh(self) -> None:
        self.menu.clear()
        for path in self.paths():
            self.menu.addAction(path, lambda p=path: self.open_path(p))
        self.menu.setEnabled(bool(self.paths()))
