"""File > Get models…: the catalog of well-known face models, downloaded in the background.

The dialog lists every :mod:`~facestudio.models.catalog` entry (name, resolution, size,
licence, source, checksum, status). *Download* first shows the model's licence (and warns
when no published checksum is known), then runs
:meth:`~facestudio.models.store.ModelStore.install` on a plain Python thread; its progress
and result come back to the GUI thread as queued Qt signals. *Cancel* stops it between
chunks and keeps the partial file, so the next *Download* resumes. When a download is
done the dialog offers to open the model (``openRequested``).

No torch and no generator here: the store is standard library, and opening goes through
the window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.models.catalog import CATALOG, CatalogEntry
from facestudio.models.download import DownloadCancelled, DownloadError
from facestudio.models.store import InstalledModel, ModelStore

COLUMNS = ("Model", "Resolution", "Size", "Licence", "Checksum", "Status", "Source")
PROGRESS_STEPS = 1000
PROGRESS_INTERVAL_S = 0.05  # at most 20 progress signals a second


def format_size(size: int | None) -> str:
    """``226.1 MiB``, ``812 KiB``, or ``unknown``."""
    if size is None:
        return "unknown"
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}" if unit != "KiB" else f"{size // scale} {unit}"
    return f"{size} bytes"


class ModelLibraryDialog(QtWidgets.QDialog):
    """The model library. ``confirm(title, text) -> bool`` and ``report(title, text)`` are the
    window's ways to ask and tell (tests answer them); ``store`` and ``catalog`` default to the
    user's store and the built-in catalog."""

    openRequested = QtCore.Signal(str)  # path of a downloaded model to open
    downloadFinished = QtCore.Signal(str, bool)  # entry id, success
    _progress = QtCore.Signal(str, object, object)  # entry id, bytes done, total (0: unknown)
    _done = QtCore.Signal(str, object)  # entry id, InstalledModel or an error message

    def __init__(self, parent: QtWidgets.QWidget | None = None, store: ModelStore | None = None,
                 catalog: Sequence[CatalogEntry] = CATALOG,
                 confirm: Callable[[str, str], bool] | None = None,
                 report: Callable[[str, str], None] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Get models")
        self.resize(1180, 460)
        self.store = store or ModelStore()
        self.catalog = list(catalog)
        self.confirm = confirm or self._ask
        self.report = report or self._tell
        self._thread: threading.Thread | None = None
        self._cancel: threading.Event | None = None
        self._active: CatalogEntry | None = None
        self._build()
        self._progress.connect(self._on_progress, QtCore.Qt.QueuedConnection)
        self._done.connect(self._on_done, QtCore.Qt.QueuedConnection)
        self.refresh()

    # --- widgets --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        intro = QtWidgets.QLabel(
            "Public StyleGAN face models. They are large, and most allow <b>non-commercial research "
            "use only</b>: every image you export from them says so in its terms. Models are kept in "
            f"<tt>{self.store.root}</tt>.")
        intro.setWordWrap(True)
        intro.setTextFormat(QtCore.Qt.RichText)
        layout.addWidget(intro)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setTextElideMode(QtCore.Qt.ElideRight)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self._open_selected())
        layout.addWidget(self.table, 1)
        self.details = QtWidgets.QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        layout.addWidget(self.details)
        row = QtWidgets.QHBoxLayout()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress_label = QtWidgets.QLabel("")
        row.addWidget(self.progress, 1)
        row.addWidget(self.progress_label)
        layout.addLayout(row)
        buttons = QtWidgets.QHBoxLayout()
        self.download_button = QtWidgets.QPushButton("Download")
        self.cancel_button = QtWidgets.QPushButton("Cancel download")
        self.open_button = QtWidgets.QPushButton("Open")
        self.remove_button = QtWidgets.QPushButton("Remove…")
        self.close_button = QtWidgets.QPushButton("Close")
        self.download_button.clicked.connect(lambda: self.start_download())
        self.cancel_button.clicked.connect(self.cancel_download)
        self.open_button.clicked.connect(self._open_selected)
        self.remove_button.clicked.connect(self._remove_selected)
        self.close_button.clicked.connect(self.close)
        for b in (self.download_button, self.cancel_button, self.open_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)

    def refresh(self) -> None:
        """Rebuild the table from the catalog and the store (keeps the selected row)."""
        selected = self.table.currentRow()
        self.table.setRowCount(len(self.catalog))
        for r, e in enumerate(self.catalog):
            cells = (e.name, f"{e.resolution} px", format_size(e.size), e.license_name,
                     f"sha256 {e.sha256[:12]}…" if e.verifiable else "none published", self.status_text(e), e.url)
            for c, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(self._tooltip(e) if c != 6 else e.url)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(3, min(self.table.columnWidth(3), 300))  # the tooltip has it all
        if self.catalog:
            self.table.selectRow(selected if 0 <= selected < len(self.catalog) else 0)
        self._update_buttons()

    def status_text(self, e: CatalogEntry) -> str:
        if self._active is not None and self._active.id == e.id:
            return "downloading…"
        model = self.store.installed(e.id)
        if model is not None:
            return "installed (verified)" if model.verified else "installed (unverified)"
        kept = self.store.partial_bytes(e)
        return f"partial: {format_size(kept)} kept" if kept else "not installed"

    def _tooltip(self, e: CatalogEntry) -> str:
        return (f"{e.architecture}, trained on {e.dataset}\nLicence: {e.license_name}\n{e.license_url}\n"
                f"Credit: {e.attribution}\nsha256: {e.sha256 or 'unknown'} ({e.checksum_note})")

    def selected_entry(self) -> CatalogEntry | None:
        row = self.table.currentRow()
        return self.catalog[row] if 0 <= row < len(self.catalog) else None

    def select(self, entry_id: str) -> None:
        for r, e in enumerate(self.catalog):
            if e.id == entry_id:
                self.table.selectRow(r)

    def _update_buttons(self) -> None:
        e = self.selected_entry()
        busy = self.is_downloading()
        installed = e is not None and self.store.installed(e.id) is not None
        self.download_button.setEnabled(e is not None and not busy and not installed)
        self.download_button.setText("Resume download" if e is not None and self.store.partial_bytes(e)
                                     else "Download")
        self.cancel_button.setEnabled(busy)
        self.open_button.setEnabled(installed)
        self.remove_button.setEnabled(installed and not (busy and self._active.id == e.id))
        self.details.setText(self._tooltip(e).replace("\n", " · ") if e is not None else "")

    # --- downloads ---------------------------------------------------------------------------
    def is_downloading(self) -> bool:
        return self._thread is not None

    def start_download(self, e: CatalogEntry | None = None) -> bool:
        """Ask, then download ``e`` (default: the selected entry) on a worker thread."""
        e = e or self.selected_entry()
        if e is None or self.is_downloading() or self.store.installed(e.id) is not None:
            return False
        text = (f"{e.name} ({format_size(e.size)}) comes from {e.url}.\n\n"
                f"Its licence: {e.license_name} ({e.license_url}). Images you make with it may be used "
                "only under these terms, and facestudio writes them into every exported file.")
        if not e.verifiable:
            text += ("\n\nNo published sha256 is known for this file, so facestudio cannot check that "
                     "the download is the original; it will be marked unverified.")
        if not self.confirm("Download model", text + "\n\nDownload it?"):
            return False
        self._active, self._cancel = e, threading.Event()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress_label.setText(f"{e.name}: starting…")
        self._thread = threading.Thread(target=self._run, args=(e, self._cancel),
                                        name=f"download-{e.id}", daemon=True)
        self._thread.start()
        self.refresh()
        return True

    def _run(self, e: CatalogEntry, cancel: threading.Event) -> None:
        """Worker thread: install ``e``; everything goes back to the GUI thread by signals."""
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= PROGRESS_INTERVAL_S or (total and done >= total):
                last[0] = now
                self._progress.emit(e.id, done, total)

        try:
            result: object = self.store.install(e, progress=progress, cancel=cancel)
        except DownloadCancelled as exc:
            result = ("cancelled", str(exc))
        except DownloadError as exc:
            result = ("error", str(exc))
        except Exception as exc:  # a bug must still reach the user, not kill the thread silently
            result = ("error", f"the download failed unexpectedly: {exc}")
        self._done.emit(e.id, result)

    def cancel_download(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.progress_label.setText("cancelling…")

    def _on_progress(self, entry_id: str, done: int, total: int) -> None:
        if self._active is None or entry_id != self._active.id:
            return
        if total:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(min(PROGRESS_STEPS, done * PROGRESS_STEPS // total))
            self.progress_label.setText(f"{self._active.name}: {format_size(done)} of {format_size(total)}")
        else:
            self.progress.setRange(0, 0)  # busy: the size is unknown
            self.progress_label.setText(f"{self._active.name}: {format_size(done)}")

    def _on_done(self, entry_id: str, result: object) -> None:
        e = self._active
        if self._thread is not None:
            self._thread.join()
        self._thread, self._cancel, self._active = None, None, None
        self.progress.setRange(0, PROGRESS_STEPS)
        self.refresh()
        self.select(entry_id)
        if isinstance(result, InstalledModel):
            self.progress.setValue(PROGRESS_STEPS)
            check = "checksum verified" if result.verified else "no published checksum to verify against"
            self.progress_label.setText(f"{result.name}: done ({check})")
            self.downloadFinished.emit(entry_id, True)
            if self.confirm("Model downloaded", f"{result.name} is downloaded ({check}). Open it now?"):
                self.openRequested.emit(str(result.path))
            return
        kind, message = result
        self.progress.setValue(0)
        self.progress_label.setText("cancelled; the partial file is kept" if kind == "cancelled"
                                    else "failed")
        self.downloadFinished.emit(entry_id, False)
        if kind != "cancelled":
            self.report("Download failed", f"{e.name if e else entry_id}: {message}")

    def wait_for_download(self, timeout_s: float = 30.0) -> bool:
        """Block (processing events) until no download runs; for scripts and tests."""
        deadline = time.monotonic() + timeout_s
        while self.is_downloading() and time.monotonic() < deadline:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.AllEvents, 50)
            time.sleep(0.01)
        return not self.is_downloading()

    # --- installed models ----------------------------------------------------------------------
    def _open_selected(self) -> None:
        e = self.selected_entry()
        model = self.store.installed(e.id) if e is not None else None
        if model is not None:
            self.openRequested.emit(str(model.path))

    def _remove_selected(self) -> None:
        e = self.selected_entry()
        if e is None or self.store.installed(e.id) is None:
            return
        if self.confirm("Remove model", f"Delete {e.name} from {self.store.folder(e)}?"):
            try:
                self.store.remove(e.id)
            except OSError as exc:
                self.report("Cannot remove model", f"cannot delete {self.store.folder(e)}: {exc.strerror or exc}")
            self.refresh()

    def shutdown(self) -> None:
        """Stop a running download (its partial file is kept) and wait for the thread."""
        thread = self._thread
        if thread is not None:
            self._cancel.set()
            thread.join(10)

    def _ask(self, title: str, text: str) -> bool:
        return QtWidgets.QMessageBox.question(self, title, text) == QtWidgets.QMessageBox.Yes

    def _tell(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.warning(self, title, text)


class GetModelsMenu(QtCore.QObject):
    """File > Get models…: one :class:`ModelLibraryDialog` (``dialog``, None until first
    used) that hands a downloaded model to ``open_model(path)``. Closing the dialog keeps a
    download running; quitting the application cancels it (the partial file is kept for the
    next time)."""

    def __init__(self, context, menu: QtWidgets.QMenu, open_model: Callable[[str], object]):
        super().__init__(context.parent)
        self.context = context
        self.open_model = open_model
        self.dialog: ModelLibraryDialog | None = None
        self.action = QtGui.QAction("Get models…", context.parent)
        self.action.triggered.connect(self.show)
        menu.addAction(self.action)

    def show(self) -> None:
        if self.dialog is None:
            ctx = self.context
            self.dialog = ModelLibraryDialog(ctx.parent, confirm=ctx.confirm, report=ctx.report)
            self.dialog.openRequested.connect(self.open_model)
            QtWidgets.QApplication.instance().aboutToQuit.connect(self.dialog.shutdown)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
