"""The window's dock layout: View ▸ Docks brings back any dock (however it was closed), the
layout is remembered between starts (``QMainWindow.saveState`` / ``restoreState``), and
View ▸ Reset layout puts the docks back as on the first start, with the Directions dock in
front of the Export and Audit docks it shares the right side with."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

STATE_KEY = "window/state"
STATE_VERSION = 1  # bump when the docks change so much that an old layout should be dropped
FRONT_DOCK = "dock_directions"  # in front of its tab group on the first start and after a reset


class DockLayout(QtCore.QObject):
    """Keeps ``window``'s first-start layout, restores and saves the user's."""

    def __init__(self, window: QtWidgets.QMainWindow, settings: QtCore.QSettings):
        super().__init__(window)
        self.window, self.settings = window, settings
        self.bring_front()
        self.default_state = window.saveState(STATE_VERSION)

    def docks(self) -> list[QtWidgets.QDockWidget]:
        """Every dock of the window, in title order (docks added later are found too)."""
        return sorted(self.window.findChildren(QtWidgets.QDockWidget), key=lambda d: d.windowTitle())

    def bring_front(self) -> None:
        front = self.window.findChild(QtWidgets.QDockWidget, FRONT_DOCK)
        if front is not None:
            front.show()
            front.raise_()

    def restore(self) -> bool:
        """The layout saved by the last run; False (first-start layout kept) when there is
        none or it is not one this version wrote."""
        state = self.settings.value(STATE_KEY)
        if not isinstance(state, (QtCore.QByteArray, bytes)):
            return False
        return bool(self.window.restoreState(QtCore.QByteArray(state), STATE_VERSION))

    def save(self) -> None:
        self.settings.setValue(STATE_KEY, self.window.saveState(STATE_VERSION))

    def reset(self) -> None:
        """The first-start layout: every dock back where it was, shown, the Directions dock in front."""
        for dock in self.docks():
            dock.setFloating(False)
        self.window.restoreState(self.default_state, STATE_VERSION)
        for dock in self.docks():
            dock.show()
        self.bring_front()

    def fill_docks_menu(self, menu: QtWidgets.QMenu) -> None:
        menu.clear()
        for dock in self.docks():
            menu.addAction(dock.toggleViewAction())


def install_layout(window: QtWidgets.QMainWindow, view_menu: QtWidgets.QMenu) -> DockLayout:
    """Add View ▸ Docks and View ▸ Reset layout; call once every dock is built."""
    layout = DockLayout(window, window.settings)
    view_menu.addSeparator()
    docks_menu = view_menu.addMenu("&Docks")
    docks_menu.setObjectName("docks_menu")
    docks_menu.aboutToShow.connect(lambda: layout.fill_docks_menu(docks_menu))
    layout.fill_docks_menu(docks_menu)
    reset = view_menu.addAction("&Reset layout", layout.reset)
    reset.setObjectName("reset_layout")
    return layout
