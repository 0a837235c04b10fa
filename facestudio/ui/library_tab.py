"""The Library tab: a stock library's faces as thumbnails, filtered by apparent age, gender
(P(female) at least 0.9 / at most 0.1, as ``find`` keeps them), skin tone, distance to the
nearest training photo and the measures stored when the library was built (expression, head
pose, hair: :mod:`facestudio.analysis.filters`, as ``find --smile ...``; a library built
before they were stored has none, so these filters show nothing there); a double-click opens
a face as an editable recipe.

Virtualised and lazy, so 100,000 faces open in a moment and scroll smoothly: the list view
asks :class:`LibraryListModel` only for the rows it paints (uniform item sizes, batched
layout); the model reads the catalogue a page of :data:`PAGE` rows at a time (one SQL query,
no recipes or embeddings) and keeps the last :data:`PAGES_KEPT` pages; a thumbnail is decoded
off the GUI thread (a small QThreadPool, QImageReader scaling while it decodes) the first time
its row is painted, and the last :data:`THUMBS_KEPT` are kept. Opening a library costs one
``count(*)``.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.analysis.filters import DEFAULT_CONFIDENCE, FilterError
from facestudio.analysis.skin_tone import TONE_CATEGORIES
from facestudio.latent.recipe import Recipe
from facestudio.bounded_json import loads_bounded
from facestudio.fileio import InputFileError, read_limited
from facestudio.library.catalog import MAX_FACE_BYTES, Catalog, CatalogError, FaceFilter
from facestudio.library.worker import is_face_file
from facestudio.shown_text import shown
from facestudio.ui.attribute_filters import AttributeCombos

THUMB = 96
PAGE = 256
PAGES_KEPT = 64
THUMBS_KEPT = 2000
POSITION_ROLE = QtCore.Qt.UserRole


class _ThumbnailSignals(QtCore.QObject):
    loaded = QtCore.Signal(int, int, QtGui.QImage)  # generation, row, image


class _ThumbnailJob(QtCore.QRunnable):
    """Decode one file at thumbnail size (QImageReader is safe off the GUI thread)."""

    def __init__(self, path: Path, generation: int, row: int, signals: _ThumbnailSignals):
        super().__init__()
        self.path, self.generation, self.row, self.signals = path, generation, row, signals

    def run(self) -> None:
        try:  # only a regular file of bounded size is read: a pipe would hold this thread for ever
            data = read_limited(self.path, MAX_FACE_BYTES, "the face file")
        except (OSError, InputFileError):
            data = b""
        buffer = QtCore.QBuffer()
        buffer.setData(QtCore.QByteArray(data))
        buffer.open(QtCore.QIODevice.ReadOnly)
        reader = QtGui.QImageReader(buffer)
        size = reader.size()
        if size.isValid():
            reader.setScaledSize(size.scaled(THUMB, THUMB, QtCore.Qt.KeepAspectRatio))
        self.signals.loaded.emit(self.generation, self.row, reader.read())


class LibraryListModel(QtCore.QAbstractListModel):
    """The faces of one library that pass a :class:`FaceFilter`, in position order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.catalog: Catalog | None = None
        self.folder: Path | None = None
        self.filter = FaceFilter()
        self._count = 0
        self._pages: OrderedDict[int, list[tuple]] = OrderedDict()
        self._thumbs: OrderedDict[int, QtGui.QPixmap] = OrderedDict()  # by position
        self._pending: set[int] = set()
        self._generation = 0  # a new filter or library makes older thumbnail jobs moot
        self.pool = QtCore.QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._signals = _ThumbnailSignals()
        self._signals.loaded.connect(self._loaded)
        self._placeholder = QtGui.QPixmap(THUMB, THUMB)
        self._placeholder.fill(QtGui.QColor("#2a2a2a"))

    def open(self, folder: Path) -> None:
        """Show the library at ``folder``; raises CatalogError (one sentence)."""
        catalog = Catalog(Path(folder), readonly=True)
        self.close()
        self.catalog, self.folder = catalog, Path(folder)
        self._thumbs.clear()
        self.set_filter(FaceFilter())

    def close(self) -> None:
        self.pool.clear()
        self.pool.waitForDone()
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None

    def set_filter(self, face_filter: FaceFilter) -> None:
        self.beginResetModel()
        self.filter = face_filter
        self._generation += 1
        self._pending.clear()
        self._pages.clear()
        self._count = self.catalog.count(face_filter) if self.catalog is not None else 0
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else self._count

    def row(self, i: int) -> tuple:
        """``(position, seed, file, age, p_female, tone, lookalike_distance)`` of row ``i``."""
        page = i // PAGE
        rows = self._pages.get(page)
        if rows is None:
            rows = self._pages[page] = self.catalog.page(self.filter, page * PAGE, PAGE)
            while len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows[i % PAGE]

    def data(self, index, role=QtCore.Qt.DisplayRole):
        if not index.isValid() or self.catalog is None or index.row() >= self._count:
            return None
        try:
            position, seed, file, age, p_female, tone, distance = self.row(index.row())
        except CatalogError:  # a damaged row shows nothing (opening its face says why)
            return None
        if role == QtCore.Qt.DisplayRole:
            return f"{seed} · {age:.0f} {'F' if p_female > 0.5 else 'M'}"
        if role == QtCore.Qt.DecorationRole:
            return self._thumbnail(index.row(), position, file)
        if role == QtCore.Qt.ToolTipRole:
            look = f"{distance:.3f}" if distance is not None else "not compared"
            return (f"seed {seed}\napparent age {age:.0f}, P(female) {p_female:.2f}, skin tone {tone}\n"
                    f"nearest training photo: {look}\n{shown(file)}")
        if role == POSITION_ROLE:
            return position
        return None

    def face_path(self, file: str) -> Path | None:
        """The path of the catalogue's ``file`` inside the library; None for a name that is not
        a face file of the library (never opened) or for a link."""
        if not is_face_file(file) or (self.folder / file).is_symlink():
            return None
        return self.folder / file

    def _thumbnail(self, row: int, position: int, file: str) -> QtGui.QPixmap:
        pixmap = self._thumbs.get(position)
        if pixmap is not None:
            self._thumbs.move_to_end(position)
            return pixmap
        if position not in self._pending and self.face_path(file) is not None:
            self._pending.add(position)
            self.pool.start(_ThumbnailJob(self.folder / file, self._generation, row, self._signals))
        return self._placeholder

    def _loaded(self, generation: int, row: int, image: QtGui.QImage) -> None:
        if generation != self._generation or row >= self._count:
            return
        position = self.row(row)[0]
        self._pending.discard(position)
        self._thumbs[position] = QtGui.QPixmap.fromImage(image) if not image.isNull() else self._placeholder
        while len(self._thumbs) > THUMBS_KEPT:
            self._thumbs.popitem(last=False)
        index = self.index(row)
        self.dataChanged.emit(index, index, [QtCore.Qt.DecorationRole])

    def recipe(self, row: int) -> Recipe:
        """The recipe of row ``row``, as the catalogue holds it."""
        position = self.row(row)[0]
        face = self.catalog.faces("position = ?", (position,))[0]
        return Recipe.from_dict(loads_bounded(face.recipe, "the face's recipe in the catalogue"))


class LibraryTab(QtWidgets.QWidget):
    """Open a library, filter it, open a face (``recipeOpened``)."""

    recipeOpened = QtCore.Signal(object)  # Recipe
    problem = QtCore.Signal(str)  # one sentence for the user

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = LibraryListModel(self)
        layout = QtWidgets.QVBoxLayout(self)
        bar = QtWidgets.QHBoxLayout()
        self.open_button = QtWidgets.QPushButton("Open library…")
        self.path_label = QtWidgets.QLabel("no library open")
        self.path_label.setTextFormat(QtCore.Qt.PlainText)  # a folder name is never markup
        self.age_min, self.age_max = QtWidgets.QSpinBox(), QtWidgets.QSpinBox()
        for box, value in ((self.age_min, 0), (self.age_max, 120)):
            box.setRange(0, 120)
            box.setValue(value)
        self.gender = QtWidgets.QComboBox()
        self.gender.addItems(["any gender", "female", "male"])
        self.tone = QtWidgets.QComboBox()
        self.tone.addItems(["any skin tone", *TONE_CATEGORIES])
        self.min_lookalike = QtWidgets.QDoubleSpinBox()
        self.min_lookalike.setRange(0.0, 2.0)
        self.min_lookalike.setSingleStep(0.05)
        self.min_lookalike.setDecimals(2)
        self.min_lookalike.setToolTip("least distance to the nearest training photo (0: any)")
        self.count_label = QtWidgets.QLabel("")
        self.export_button = QtWidgets.QPushButton("Export selected…")
        self.export_button.setToolTip("copy the selected faces' files (stamped and watermarked as built) into a folder")
        bar.addWidget(self.open_button)
        bar.addWidget(self.path_label, 1)
        for label, widget in (("age", self.age_min), ("to", self.age_max), ("", self.gender), ("", self.tone),
                              ("lookalike ≥", self.min_lookalike)):
            if label:
                bar.addWidget(QtWidgets.QLabel(label))
            bar.addWidget(widget)
        bar.addWidget(self.count_label)
        bar.addWidget(self.export_button)
        layout.addLayout(bar)
        self.attributes = AttributeCombos(self)
        attribute_bar = QtWidgets.QHBoxLayout()
        self.attributes.add_to(attribute_bar)
        attribute_bar.addStretch(1)
        layout.addLayout(attribute_bar)
        self.view = QtWidgets.QListView()
        self.view.setObjectName("library_view")
        self.view.setViewMode(QtWidgets.QListView.IconMode)
        self.view.setIconSize(QtCore.QSize(THUMB, THUMB))
        self.view.setGridSize(QtCore.QSize(THUMB + 16, THUMB + 28))
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QtWidgets.QListView.Batched)
        self.view.setBatchSize(512)
        self.view.setResizeMode(QtWidgets.QListView.Adjust)
        self.view.setMovement(QtWidgets.QListView.Static)
        self.view.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.view.setModel(self.model)
        layout.addWidget(self.view, 1)
        self.open_button.clicked.connect(self._choose)
        self.export_button.clicked.connect(self._choose_export_folder)
        for signal in (self.age_min.valueChanged, self.age_max.valueChanged, self.gender.currentIndexChanged,
                       self.tone.currentIndexChanged, self.min_lookalike.valueChanged, self.attributes.changed):
            signal.connect(self.apply_filter)
        self.view.doubleClicked.connect(self._open_face)

    def _open_face(self, index) -> None:
        try:
            recipe = self.model.recipe(index.row())
        except (ValueError, CatalogError) as exc:  # a damaged row: RecipeError is a ValueError
            self.problem.emit(f"this face's recipe cannot be read: {exc}")
            return
        self.recipeOpened.emit(recipe)

    def open_library(self, folder: Path) -> bool:
        try:
            self.model.open(Path(folder))
        except CatalogError as exc:
            self.problem.emit(str(exc))
            return False
        self.path_label.setText(str(folder))
        self.apply_filter()
        return True

    def _choose(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Open a stock library")
        if folder:
            self.open_library(Path(folder))

    def current_filter(self) -> FaceFilter:
        lo, hi = self.age_min.value(), self.age_max.value()
        age = None if (lo, hi) == (0, 120) else (float(min(lo, hi)), float(max(lo, hi) + 1))
        gender = (None, "female", "male")[self.gender.currentIndex()]
        tone = None if self.tone.currentIndex() == 0 else TONE_CATEGORIES[self.tone.currentIndex() - 1]
        distance = self.min_lookalike.value() or None
        return FaceFilter(age=age, gender=gender, tone=tone, min_lookalike=distance,
                          confidence=DEFAULT_CONFIDENCE if gender else FaceFilter.confidence,
                          bounds=self.attributes.bounds())

    def apply_filter(self, *_args) -> None:
        if self.model.catalog is None:
            return
        try:
            face_filter = self.current_filter()
        except FilterError as exc:
            self.problem.emit(str(exc))
            return
        self.model.set_filter(face_filter)
        measured = self.model.catalog.present >= {b.measure for b in face_filter.bounds}
        self.count_label.setText(f"{self.model.rowCount():,} faces" +
                                 ("" if measured else " (this library was built before faces were measured)"))

    def selected_files(self) -> list[Path]:
        rows = sorted(index.row() for index in self.view.selectionModel().selectedIndexes())
        paths = [self.model.face_path(self.model.row(r)[2]) for r in rows]
        return [p for p in paths if p is not None]

    def _choose_export_folder(self) -> None:
        if self.model.catalog is None or not self.view.selectionModel().hasSelection():
            self.problem.emit("select some faces to export first")
            return
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Export the selected faces to")
        if folder:
            self.export_selected(Path(folder))

    def export_selected(self, folder: Path) -> list[Path]:
        """Copy the selected faces' files into ``folder``, each written atomically and never over
        an existing file: the bytes the build wrote, so their stamp, watermark and lookalike
        verdict stay as they are. Stops at the first failure with one sentence (``problem``)."""
        from facestudio.fileio import OutputPathError, atomic_write, describe_os_error
        written = []
        for source in self.selected_files():
            target = Path(folder) / source.name
            try:
                data = read_limited(source, MAX_FACE_BYTES, "the face file")
                with atomic_write(target) as tmp:
                    tmp.write_bytes(data)
            except (OutputPathError, InputFileError) as exc:
                self.problem.emit(shown(exc))
                break
            except OSError as exc:
                self.problem.emit(describe_os_error(target, exc))
                break
            written.append(target)
        return written

    def close_library(self) -> None:
        self.model.close()


def connect_library_tab(context, tab: LibraryTab, tabs: QtWidgets.QTabWidget) -> None:
    """An opened face of the Library ``tab`` becomes the studio's current face (one undo step
    on ``context.history``, shown on the first of ``tabs``) when it was made with the open
    model; problems are reported."""
    state = context.state

    def opened(recipe: Recipe) -> None:
        if state.made_with_open_model(recipe):
            context.history.change(recipe.replace(model_name=state.model.name), "Open library face")
            tabs.setCurrentIndex(0)
        else:
            context.report("Library", f"this face was made with the model {recipe.model_name or recipe.model_sha256[:12]}; "
                                      "open that model first")

    tab.recipeOpened.connect(opened)
    tab.problem.connect(lambda text: context.report("Library", text))
