"""File ▸ Anonymize a photo…: stand-ins for the person in a photo, made in the studio.

The dialog reads the photo into memory (bounded, as the CLI does) and finds its faces on a
worker thread (click one, or pick its number, when there are several), then runs the anonymizer
(:mod:`facestudio.anonymizer`) on a worker thread too: the window keeps answering while dlib
looks for faces, and whatever a worker raises comes back as one sentence in the dialog (an
unexpected error is logged as an internal one), never as an exception in a Qt slot. The
stand-ins arrive in the session's gallery as ordinary recipes (a seed and named-slider amounts), so every slider, the
mix grid and the export work on them. While the dialog is open it shows the photo's aligned
face beside the chosen stand-in; when it closes the photo, its crop and the side-by-side are
dropped: nothing of the photo is written, cached, autosaved or kept in the session.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.ui.gallery_dock import png_thumbnail, rgb_to_qimage
from facestudio.ui.guard import guarded

VIEW = 256  # the side-by-side's faces, logical pixels
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.bmp);;All files (*)"
FORGET_NOTE = ("The photo stays in this window only: it is not saved, cached or added to the session, "
               "and it is forgotten when the window closes.")


class _Cancelled(Exception):
    pass


class AnonymizeDialog(QtWidgets.QDialog):
    """``model`` is the window's :class:`~facestudio.render.studio_model.StudioModel`;
    ``gallery`` the session's gallery the stand-ins are added to."""

    finished_work = QtCore.Signal(object)  # an Anonymized result, or a sentence
    found_faces = QtCore.Signal(object)  # (name, pixels, faces) of a photo read on the worker, or a sentence
    stepped = QtCore.Signal(int)  # progress steps done on the worker thread

    def __init__(self, model, gallery, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Anonymize a photo")
        self.model, self.gallery = model, gallery
        self._pixels: np.ndarray | None = None
        self._faces: list = []
        self._result = None
        self._anonymizer = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._build()
        self.finished_work.connect(self._on_finished)
        self.found_faces.connect(self._on_found)
        self.stepped.connect(lambda n: self.progress.setValue(self.progress.value() + n))

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        from facestudio.analysis.stand_ins import DEFAULT_KEEP, KEEP_GROUPS
        self.choose_button = QtWidgets.QPushButton("Choose photo…")
        self.choose_button.clicked.connect(self.choose_photo)
        self.photo_label = QtWidgets.QLabel("no photo")
        self.count_spin = QtWidgets.QSpinBox()
        self.count_spin.setRange(1, 20)
        self.count_spin.setValue(4)
        self.face_combo = QtWidgets.QComboBox()
        self.face_combo.setEnabled(False)
        self.keep_boxes = {}
        keep_row = QtWidgets.QHBoxLayout()
        for name in KEEP_GROUPS:
            box = QtWidgets.QCheckBox(name)
            box.setChecked(name in DEFAULT_KEEP)
            self.keep_boxes[name] = box
            keep_row.addWidget(box)
        self.make_button = QtWidgets.QPushButton("Make stand-ins")
        self.make_button.setEnabled(False)
        self.make_button.clicked.connect(self.make)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.photo_view, self.stand_in_view = QtWidgets.QLabel(), QtWidgets.QLabel()
        for view, text in ((self.photo_view, "the photo's face"), (self.stand_in_view, "the chosen stand-in")):
            view.setFixedSize(VIEW, VIEW)
            view.setAlignment(QtCore.Qt.AlignCenter)
            view.setFrameShape(QtWidgets.QFrame.StyledPanel)
            view.setText(text)
        self.photo_view.mousePressEvent = self._photo_clicked
        self.stand_ins = QtWidgets.QListWidget()
        self.stand_ins.setViewMode(QtWidgets.QListView.IconMode)
        self.stand_ins.setIconSize(QtCore.QSize(96, 96))
        self.stand_ins.setFixedHeight(140)
        self.stand_ins.currentRowChanged.connect(self._show_stand_in)
        form = QtWidgets.QFormLayout()
        form.addRow(self.choose_button, self.photo_label)
        form.addRow("Stand-ins", self.count_spin)
        form.addRow("Face", self.face_combo)
        form.addRow("Keep", keep_row)
        views = QtWidgets.QHBoxLayout()
        views.addWidget(self.photo_view)
        views.addWidget(self.stand_in_view)
        note = QtWidgets.QLabel(FORGET_NOTE)
        note.setWordWrap(True)
        layout = QtWidgets.QVBoxLayout(self)
        for item in (form, views):
            layout.addLayout(item)
        for widget in (self.stand_ins, self.make_button, self.progress, self.status, note):
            layout.addWidget(widget)

    # ------------------------------------------------------------------ the photo
    def choose_photo(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Photo to anonymize", "", PHOTO_FILTER)
        if path:
            self.load_photo(Path(path))

    def load_photo(self, path: Path) -> bool:
        """Read ``path`` into memory and find its faces on a worker thread (:attr:`found_faces`
        answers; a sentence in the status when it cannot); False when a photo is being read
        or stand-ins are being made (nothing is started)."""
        if self._thread is not None:
            return False
        self.choose_button.setEnabled(False)
        self.make_button.setEnabled(False)
        self._say(f"looking for faces in {Path(path).name}…")
        self._start(self._find_work, Path(path))
        return True

    def _find_work(self, path: Path) -> None:
        def find():
            pixels = _read_photo(path)
            return path.name, pixels, self._ensure_anonymizer().faces(pixels)
        outcome = _outcome(find, "finding the photo's faces")
        if not self._cancel.is_set():
            self.found_faces.emit(outcome)

    @guarded
    def _on_found(self, outcome) -> None:
        self._thread = None
        self.choose_button.setEnabled(True)
        if isinstance(outcome, str):
            self.make_button.setEnabled(self._pixels is not None)
            self._say(outcome)
            return
        name, pixels, faces = outcome
        self._pixels, self._faces, self._result = pixels, faces, None
        self.photo_label.setText(name)
        self.stand_ins.clear()
        self.stand_in_view.clear()
        self.face_combo.clear()
        self.face_combo.addItems([f"{i} ({f.width} px, x {f.box[0]})" for i, f in enumerate(faces, 1)])
        self.face_combo.setEnabled(len(faces) > 1)
        self._show_photo()
        self.make_button.setEnabled(bool(faces))
        self._say("no face was found in the photo." if not faces else
                  f"{len(faces)} faces: click one or pick its number." if len(faces) > 1 else "one face found.")

    def _start(self, target, *args) -> None:
        self._cancel.clear()
        self._thread = threading.Thread(target=target, args=args, name="anonymize", daemon=True)
        self._thread.start()

    def _show_photo(self) -> None:
        """The photo scaled into the left view, with numbered boxes round its faces."""
        if self._pixels is None:
            return
        image = QtGui.QPixmap.fromImage(rgb_to_qimage(self._pixels))
        painter = QtGui.QPainter(image)
        pen = QtGui.QPen(QtGui.QColor(255, 220, 0))
        pen.setWidth(max(2, image.width() // 200))
        painter.setPen(pen)
        for i, f in enumerate(self._faces, 1):
            left, top, right, bottom = f.box
            painter.drawRect(left, top, right - left, bottom - top)
            painter.drawText(left + 4, top + 16, str(i))
        painter.end()
        self.photo_view.setPixmap(image.scaled(VIEW, VIEW, QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation))

    def _photo_clicked(self, event) -> None:
        if self._pixels is None or len(self._faces) < 2 or self._result is not None:
            return
        h, w = self._pixels.shape[:2]
        scale = min(VIEW / w, VIEW / h)
        x = (event.position().x() - (VIEW - w * scale) / 2) / scale
        y = (event.position().y() - (VIEW - h * scale) / 2) / scale
        for i, f in enumerate(self._faces):
            if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]:
                self.face_combo.setCurrentIndex(i)

    # ------------------------------------------------------------------ the work
    def _ensure_anonymizer(self):
        if self._anonymizer is None:
            from facestudio.analysis import lookalike_guard
            from facestudio.anonymizer import Anonymizer
            g = self.model.renderer.generator
            guard = lookalike_guard.guard_for_model(g.sha256, lookalike_guard.default_index_path())
            self._anonymizer = Anonymizer(g, guard)
        return self._anonymizer

    def make(self) -> None:
        if self._pixels is None or self._thread is not None:
            return
        anonymizer = self._ensure_anonymizer()
        anonymizer.keep = tuple(n for n, box in self.keep_boxes.items() if box.isChecked())
        pixels, count = self._pixels, self.count_spin.value()
        index = self.face_combo.currentIndex() + 1 if len(self._faces) > 1 else None
        self.progress.setRange(0, anonymizer.steps())
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.make_button.setEnabled(False)
        self.choose_button.setEnabled(False)
        self._say("making stand-ins…")
        self._start(self._work, anonymizer, pixels, count, index)

    def _work(self, anonymizer, pixels, count, index) -> None:
        def step(n: int) -> None:
            if self._cancel.is_set():
                raise _Cancelled()
            self.stepped.emit(n)
        outcome = _outcome(lambda: anonymizer.stand_ins(pixels, count, index, what="the photo", progress=step),
                           "making stand-ins")
        if outcome is not None and not self._cancel.is_set():
            self.finished_work.emit(outcome)

    @guarded
    def _on_finished(self, outcome) -> None:
        self._thread = None
        self.progress.setVisible(False)
        self.choose_button.setEnabled(True)
        self.make_button.setEnabled(self._pixels is not None)
        if isinstance(outcome, str):
            self._say(outcome)
            return
        self._result = outcome
        self.photo_view.setPixmap(_pixmap(outcome.crop))
        self.stand_ins.clear()
        for i, s in enumerate(outcome.search.stand_ins, 1):
            recipe = s.recipe.replace(model_name=self.model.name)
            name = f"Stand-in {i} (dlib {s.distance:.2f})"
            self.gallery.add(recipe, name=name, thumbnail=png_thumbnail(s.face))
            item = QtWidgets.QListWidgetItem(QtGui.QIcon(_pixmap(s.face, 96)), name)
            missed = [m for m, ok in s.kept.items() if not ok]
            item.setToolTip(f"dlib distance to the photo's face {s.distance:.3f} (0.6 or more: another person); "
                            + (f"not kept: {', '.join(missed)}" if missed else "keeps everything asked"))
            self.stand_ins.addItem(item)
        found = len(outcome.search.stand_ins)
        self._say(f"{found} stand-in{'s' if found != 1 else ''} added to the gallery as recipes"
                  + ("." if found else ": none was another person and apart from the others; try again."))
        if found:
            self.stand_ins.setCurrentRow(0)

    def _show_stand_in(self, row: int) -> None:
        if self._result is None or not 0 <= row < len(self._result.search.stand_ins):
            return
        self.stand_in_view.setPixmap(_pixmap(self._result.search.stand_ins[row].face))

    def _say(self, text: str) -> None:
        self.status.setText(text[:1].upper() + text[1:])

    # ------------------------------------------------------------------ forgetting
    def forget(self) -> None:
        """Drop the photo, its crop and the side-by-side (the stand-ins stay in the gallery)."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._pixels, self._faces, self._result = None, [], None
        for view in (self.photo_view, self.stand_in_view):
            view.clear()
        self.stand_ins.clear()
        self.photo_label.setText("no photo")

    def done(self, code: int) -> None:  # closing by any way: Close, Escape, the window's X
        self.forget()
        super().done(code)


def _pixmap(rgb: np.ndarray, side: int = VIEW) -> QtGui.QPixmap:
    return QtGui.QPixmap.fromImage(rgb_to_qimage(rgb)).scaled(side, side, QtCore.Qt.KeepAspectRatio,
                                                              QtCore.Qt.SmoothTransformation)


def _outcome(work, what: str):
    """What ``work()`` returned; for a refusal (:class:`~facestudio.errors.FacestudioError`)
    its sentence; None when it was cancelled; for anything else (a bug) one sentence, the
    exception logged as an internal error. Runs on a worker thread, so it shows nothing itself."""
    from facestudio.errors import FacestudioError
    from facestudio.ui.guard import log, sentence
    try:
        return work()
    except _Cancelled:
        return None
    except FacestudioError as exc:
        return str(exc)
    except MemoryError:
        return f"{what} ran out of memory; close other programs or choose a smaller photo."
    except Exception as exc:  # a bug must reach the user as a sentence, not end the thread unseen
        log.error("internal error while %s", what, exc_info=(type(exc), exc, exc.__traceback__))
        return sentence(exc)


def _read_photo(path: Path) -> np.ndarray:
    """The photo's pixels (bounded as the CLI reads them); a facestudio export is refused."""
    from facestudio.anonymizer import read_photo
    return read_photo(path)


def open_anonymize_dialog(context) -> AnonymizeDialog | None:
    """File ▸ Anonymize a photo…: the dialog for the studio's model, shown and returned (a
    sentence and None when no model is open)."""
    if context.state.model is None:
        context.report("Anonymize a photo", "Open a model first.")
        return None
    dialog = AnonymizeDialog(context.state.model, context.state.gallery, context.parent)
    dialog.setAttribute(QtCore.Qt.WA_DeleteOnClose)
    dialog.show()
    return dialog
