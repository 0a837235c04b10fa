"""The Help menu: *Getting started* (also shown in the window on the first start, until the
user dismisses it), *Keyboard shortcuts* (read from the window's own actions, so it cannot
drift from them) and *About facestudio* (the version and whose terms apply to what:
:mod:`facestudio.licences`)."""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio import __version__
from facestudio.licences import CODE_LICENCE_NOTE, FACES_NOTE, all_parts

SEEN_KEY = "help/getting_started_dismissed"
GETTING_STARTED = (
    "<b>Getting started.</b> The face in the middle is the bundled model's face for one seed. "
    "Move the <b>Directions</b> sliders on the right to change it; <b>Space</b> shows another seed "
    "(Latent, on the left). <b>K</b> keeps the face in the gallery, <b>Ctrl+Z</b> undoes. "
    "<b>Ctrl+E</b> exports it as a stamped, watermarked file: AI-generated, for non-commercial "
    "research only with the bundled model. Help ▸ Keyboard shortcuts lists the rest.")
# Keys the canvas and the sliders handle themselves, not through a menu action.
OTHER_KEYS = (("Mouse wheel", "zoom the canvas"), ("Drag on the canvas", "pan"),
              ("Arrow keys", "step the focused slider"), ("Double-click a gallery face", "make it the current face"))


def _plain(text: str) -> str:
    return text.replace("&", "").replace("…", "").strip()


def shortcut_rows(window: QtWidgets.QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every action in the window's menus that has a shortcut."""
    rows, seen = [], set()

    def walk(menu: QtWidgets.QMenu, title: str) -> None:
        for act in menu.actions():
            if act.menu() is not None:
                walk(act.menu(), f"{title} ▸ {_plain(act.menu().title())}")
            elif not act.shortcut().isEmpty() and id(act) not in seen:
                seen.add(id(act))
                rows.append((title, _plain(act.text()), act.shortcut().toString(QtGui.QKeySequence.NativeText)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.menu().title()))
    return rows


def _link(url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>' if url else ""


def about_html(card_meta: dict | None) -> str:
    """The About box's text: version, what may be done with the code and the faces, and the
    table of every part's licence."""
    rows = "".join(
        f"<tr><td>{html.escape(p.name)}{' ' + html.escape(p.version) if p.version else ''}</td>"
        f"<td>{html.escape(p.licence)}</td>"
        f"<td>{_link(p.url)}</td></tr>"
        for p in all_parts(card_meta))
    return (f"<h2>facestudio {html.escape(__version__)}</h2>"
            "<p>A desktop studio for designing faces of people who do not exist.</p>"
            f"<p>{html.escape(CODE_LICENCE_NOTE)}</p><p><b>The faces.</b> {html.escape(FACES_NOTE)}</p>"
            "<h3>Licences</h3><table cellspacing=0 cellpadding=3 border=1>"
            "<tr><th>part</th><th>licence</th><th>where</th></tr>" + rows + "</table>")


class AboutDialog(QtWidgets.QDialog):
    def __init__(self, card_meta: dict | None, parent=None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About facestudio")
        self.resize(820, 640)
        layout = QtWidgets.QVBoxLayout(self)
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(about_html(card_meta))
        layout.addWidget(self.text)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Close)
        about_qt = buttons.addButton("About Qt", QtWidgets.QDialogButtonBox.HelpRole)
        about_qt.clicked.connect(lambda: QtWidgets.QMessageBox.aboutQt(self))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class ShortcutsDialog(QtWidgets.QDialog):
    def __init__(self, window: QtWidgets.QMainWindow):
        super().__init__(window)
        self.setObjectName("shortcuts_dialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 520)
        rows = [(keys, command, menu) for menu, command, keys in shortcut_rows(window)]
        rows += [(keys, what, "") for keys, what in OTHER_KEYS]
        self.table = QtWidgets.QTableWidget(len(rows), 3)
        self.table.setHorizontalHeaderLabels(["Keys", "Command", "Menu"])
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnsToContents()
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class GettingStarted(QtWidgets.QFrame):
    """The first-start help, a strip above the canvas: shown until *Got it* is pressed, and
    again from Help ▸ Getting started."""

    def __init__(self, settings: QtCore.QSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setObjectName("getting_started")
        self.setStyleSheet("#getting_started{background:#1f3a5f;} #getting_started QLabel{color:#e8f0fe;}")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.label = QtWidgets.QLabel(GETTING_STARTED)
        self.label.setWordWrap(True)
        row.addWidget(self.label, 1)
        self.dismiss_button = QtWidgets.QPushButton("Got it")
        self.dismiss_button.setObjectName("getting_started_dismiss")
        self.dismiss_button.clicked.connect(self.dismiss)
        row.addWidget(self.dismiss_button, 0, QtCore.Qt.AlignTop)
        self.setVisible(not self.dismissed())

    def dismissed(self) -> bool:
        return str(self.settings.value(SEEN_KEY, "false")).lower() == "true"

    def dismiss(self) -> None:
        self.settings.setValue(SEEN_KEY, "true")
        self.hide()


def install_help_menu(window: QtWidgets.QMainWindow, menu: QtWidgets.QMenu, settings: QtCore.QSettings,
                      state) -> GettingStarted:
    """Fill the Help menu and put the Getting started strip above the central tabs; returns it.
    About shows the card of ``state``'s model; the shortcuts are read from ``window``'s menus."""
    strip = GettingStarted(settings)
    window.centralWidget().layout().insertWidget(0, strip)

    def show_strip() -> None:
        strip.show()

    def card() -> dict | None:
        return getattr(state.model, "card_meta", None)

    menu.addAction("&Getting started", show_strip)
    shortcuts = menu.addAction("&Keyboard shortcuts", lambda: ShortcutsDialog(window).exec())
    shortcuts.setShortcut(QtGui.QKeySequence("Ctrl+/"))
    shortcuts.setShortcutContext(QtCore.Qt.WindowShortcut)
    window.addAction(shortcuts)
    menu.addSeparator()
    about = menu.addAction("&About facestudio", lambda: AboutDialog(card(), window).exec())
    about.setMenuRole(QtGui.QAction.AboutRole)
    return strip
