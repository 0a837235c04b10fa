"""Help ▸ Getting started / Keyboard shortcuts / About, File ▸ Recent sessions, and the dock layout: the Directions
dock in front on the first start, View ▸ Docks brings a closed dock back, the layout is
remembered, View ▸ Reset layout restores the first one."""

import shutil
from importlib import metadata

import pytest
from PySide6 import QtCore, QtWidgets

from facestudio import __version__
from facestudio.ui.help_menu import SEEN_KEY, AboutDialog, ShortcutsDialog, about_html, shortcut_rows
from facestudio.ui.main_window import StudioWindow


def menu(win, title):
    return next(a.menu() for a in win.menuBar().actions() if a.menu() and a.menu().title().replace("&", "") == title)


def action(qmenu, text):
    return next(a for a in qmenu.actions() if a.text().replace("&", "") == text)


def front_tab(win, title):
    """The tab shown in front of the tab group that holds the dock called ``title``."""
    for bar in win.findChildren(QtWidgets.QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if title in titles and bar.isVisible():
            return bar.tabText(bar.currentIndex())
    return None


def second_window(qtbot, win):
    other = StudioWindow(win.settings, win.data_dir, confirm=lambda *_: True, report=lambda *_: None)
    qtbot.addWidget(other)
    return other


def test_the_help_menu_offers_getting_started_shortcuts_and_about(window):
    help_menu = menu(window, "Help")
    assert [a.text().replace("&", "") for a in help_menu.actions() if not a.isSeparator()] == \
        ["Getting started", "Keyboard shortcuts", "About facestudio"]
    rows = shortcut_rows(window)
    assert ("File", "Export", "Ctrl+E") in rows and ("Edit", "New random seed", "Space") in rows
    assert ("Edit", "Undo", "Ctrl+Z") in rows
    dialog = ShortcutsDialog(window)
    assert dialog.table.rowCount() == len(rows) + 4
    dialog.deleteLater()


def test_about_names_the_version_and_every_licence(window):
    text = about_html(window.state.model.card_meta)
    for needle in (f"facestudio {__version__}", "MIT", "non-commercial research", "UTKFace", "CC0-1.0",
                   "LGPL-3.0", f"torch {metadata.version('torch')}", f"numpy {metadata.version('numpy')}"):
        assert needle in text, needle
    assert window.state.model.card_meta.get("license", "") in text
    dialog = AboutDialog(window.state.model.card_meta, window)
    assert "About facestudio" == dialog.windowTitle() and "MIT" in dialog.text.toPlainText()
    dialog.deleteLater()


def test_getting_started_shows_on_the_first_start_until_dismissed(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    strip = window.getting_started
    assert strip.isVisible() and "Getting started" in strip.label.text()
    strip.dismiss_button.click()
    assert not strip.isVisible() and window.settings.value(SEEN_KEY) == "true"
    other = second_window(qtbot, window)
    other.show()
    qtbot.waitExposed(other)
    assert not other.getting_started.isVisible()  # dismissed for good
    action(menu(other, "Help"), "Getting started").trigger()
    assert other.getting_started.isVisible()  # and back on request
    other.close()


@pytest.mark.usefixtures("no_thread_outlives_close")
def test_directions_in_front_docks_come_back_and_the_layout_is_remembered(window, qtbot):
    window.show()
    qtbot.waitExposed(window)
    assert front_tab(window, "Directions") == "Directions"  # not Export, not Audit
    latent = window.findChild(QtWidgets.QDockWidget, "dock_latent")
    audit = window.findChild(QtWidgets.QDockWidget, "dock_audit")
    audit.close()
    latent.close()
    docks = next(a.menu() for a in menu(window, "View").actions() if a.menu() and "Docks" in a.menu().title())
    docks.aboutToShow.emit()
    toggles = {a.text().replace("&", ""): a for a in docks.actions()}
    assert {"Directions", "Latent", "Gallery", "Export", "Audit"} <= set(toggles)
    toggles["Audit"].trigger()
    assert audit.isVisible()
    window.close()  # saves the layout: Latent closed
    other = second_window(qtbot, window)
    other.show()
    qtbot.waitExposed(other)
    assert not other.findChild(QtWidgets.QDockWidget, "dock_latent").isVisible()
    assert other.findChild(QtWidgets.QDockWidget, "dock_audit").isVisible()
    other.findChild(QtWidgets.QDockWidget, "dock_audit").raise_()
    qtbot.waitUntil(lambda: front_tab(other, "Directions") == "Audit")
    action(menu(other, "View"), "Reset layout").trigger()
    qtbot.waitUntil(lambda: other.findChild(QtWidgets.QDockWidget, "dock_latent").isVisible())
    qtbot.waitUntil(lambda: front_tab(other, "Directions") == "Directions")
    other.close()


def test_a_layout_from_another_version_or_not_a_layout_is_ignored(window, qtbot):
    window.settings.setValue("window/state", "not a layout")
    assert window.dock_layout.restore() is False
    window.settings.setValue("window/state", QtCore.QByteArray(b"\x00\x01garbage"))
    assert window.dock_layout.restore() is False
    assert window.findChild(QtWidgets.QDockWidget, "dock_directions").isVisibleTo(window)


def test_saved_and_opened_sessions_are_listed_beside_recent_models(window, tmp_path):
    file_menu = menu(window, "File")
    sessions = next(a.menu() for a in file_menu.actions() if a.menu() and a.menu().title() == "Recent sessions")
    assert not sessions.isEnabled()  # nothing yet
    first, second = tmp_path / "a.fsession", tmp_path / "b.fsession"
    assert window.sessions.save_to(first) and window.sessions.save_to(second)
    assert [a.text() for a in sessions.actions()] == [str(second), str(first)]
    window.controls.random_seed()
    seed = window.state.recipe.seed
    next(a for a in sessions.actions() if a.text() == str(first)).trigger()  # reopens a.fsession
    assert window.state.session_path == first and window.state.recipe.seed != seed
    assert window.recent_sessions.paths() == [str(first), str(second)]
    recovered = window.sessions.autosaver.folder / "session.fsession"
    assert window.sessions.save_to(tmp_path / "c.fsession")
    shutil.copy(tmp_path / "c.fsession", recovered)
    assert window.sessions.open(recovered)
    assert str(recovered) not in window.recent_sessions.paths()  # a recovered autosave is no recent file
