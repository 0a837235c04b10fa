"""The Mix view: a style-mixing grid beside the canvas.

Rows are source faces, columns are style donors (seeds typed in, or gallery faces with their
edits); the crossover layers are a preset (coarse / middle / fine, with the loaded model's
actual ws rows) or a custom range. The top-left cell is empty, the first row shows the donors,
the first column the sources, like the reference ``style_mixing.py``.

Rendering: the whole grid (sources, donors, cells) goes to the render worker as **one**
batch (``submit_batch(recipes, "mix")``); chunks arrive through the bridge's ``batchReady``
and fill their cells as they finish. Images are cached by recipe -- a cell recipe is a
function of (row recipe, column recipe, layers) -- so changing a control only renders the
faces that are new. Clicking a cell emits :attr:`MixView.faceChosen` with its recipe;
"Keep selected" emits :attr:`MixView.keepRequested` with ``[(recipe, image), ...]``;
"Export grid…" emits :attr:`MixView.exportRequested` (the :class:`~.mix_tab.MixController` stamps the sheet).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.latent.mixing import MixGrid, parse_seeds
from facestudio.latent.recipe import Recipe
from facestudio.ui.gallery_dock import rgb_to_qimage
from facestudio.ui.guard import guarded

TAG = "mix"
CELL = 112       # largest cell side, pixels; cells shrink to fit the view down to MIN_CELL
MIN_CELL = 56
CACHE_SIZE = 1024
REFRESH_MS = 120
RECIPE_ROLE = QtCore.Qt.UserRole


class MixView(QtWidgets.QWidget):
    faceChosen = QtCore.Signal(object)       # Recipe of a clicked cell
    faceOpened = QtCore.Signal(object)       # Recipe of a double-clicked cell
    keepRequested = QtCore.Signal(object)    # list[(Recipe, uint8 [H, W, 3])]
    exportRequested = QtCore.Signal()        # "Export grid…" (the MixController asks where and stamps)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.submit_batch: Callable[[list[Recipe], str], None] | None = None
        self.gallery_recipes: Callable[[], list[Recipe]] = lambda: []
        self.template: Recipe | None = None       # psi / cutoff / class for typed-in seeds
        self.groups: dict[str, tuple[int, int]] = {}
        self.num_ws = 0
        self.grid: MixGrid | None = None
        self.cache: OrderedDict[Recipe, np.ndarray] = OrderedDict()
        self.submitted: list[list[Recipe]] = []   # every batch this view sent (for tests, stats)
        self._extra_rows: list[Recipe] = []
        self._extra_cols: list[Recipe] = []
        self._where: dict[Recipe, list[tuple[int, int]]] = {}
        self._stale = True
        self._cell = CELL
        self._build()
        self._timer = QtCore.QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # --- construction -----------------------------------------------------------------
    def _build(self) -> None:
        form = QtWidgets.QGridLayout()
        self.rows_edit = QtWidgets.QLineEdit("1, 2, 3", objectName="mix_rows")
        self.cols_edit = QtWidgets.QLineEdit("10, 11, 12, 13", objectName="mix_cols")
        for edit in (self.rows_edit, self.cols_edit):
            edit.setToolTip("seeds, e.g. 1, 2, 5-7")
            edit.editingFinished.connect(self.schedule)
        self.rows_gallery = QtWidgets.QPushButton("+ gallery")
        self.cols_gallery = QtWidgets.QPushButton("+ gallery")
        self.rows_gallery.setToolTip("add the selected gallery faces (all when none is selected) as rows")
        self.cols_gallery.setToolTip("add the selected gallery faces (all when none is selected) as donors")
        self.rows_gallery.clicked.connect(lambda: self._add_gallery(self._extra_rows))
        self.cols_gallery.clicked.connect(lambda: self._add_gallery(self._extra_cols))
        self.clear_gallery = QtWidgets.QPushButton("Clear gallery faces")
        self.clear_gallery.clicked.connect(self._clear_gallery)
        self.preset = QtWidgets.QComboBox(objectName="mix_preset")
        self.preset.setSizeAdjustPolicy(QtWidgets.QComboBox.AdjustToContents)
        self.start_spin = QtWidgets.QSpinBox(objectName="mix_start")
        self.stop_spin = QtWidgets.QSpinBox(objectName="mix_stop")
        self.start_spin.setPrefix("from ")
        self.stop_spin.setPrefix("to ")
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.start_spin.valueChanged.connect(self._on_custom)
        self.stop_spin.valueChanged.connect(self._on_custom)
        form.addWidget(QtWidgets.QLabel("Source faces (rows)"), 0, 0)
        form.addWidget(self.rows_edit, 0, 1)
        form.addWidget(self.rows_gallery, 0, 2)
        form.addWidget(QtWidgets.QLabel("Style donors (columns)"), 1, 0)
        form.addWidget(self.cols_edit, 1, 1)
        form.addWidget(self.cols_gallery, 1, 2)
        form.addWidget(QtWidgets.QLabel("Layers from donor"), 2, 0)
        layers = QtWidgets.QHBoxLayout()
        for w in (self.preset, self.start_spin, self.stop_spin):
            layers.addWidget(w)
        layers.addStretch(1)
        form.addLayout(layers, 2, 1)
        form.addWidget(self.clear_gallery, 2, 2)

        self.table = QtWidgets.QTableWidget(objectName="mix_table")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.table.horizontalHeader().hide()
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setStyleSheet("QTableWidget{background:#202124;} "
                                 "QTableWidget::item:selected{background:#3b78e7;}")
        self.table.cellClicked.connect(self._clicked)
        self.table.cellDoubleClicked.connect(self._double_clicked)

        bottom = QtWidgets.QHBoxLayout()
        self.status = QtWidgets.QLabel("", objectName="mix_status")
        self.keep_button = QtWidgets.QPushButton("Keep selected in gallery")
        self.keep_button.clicked.connect(self.keep_selected)
        self.labels_check = QtWidgets.QCheckBox("labels")
        self.labels_check.setToolTip("export the grid with seed labels under each face")
        self.export_button = QtWidgets.QPushButton("Export grid…")
        self.export_button.clicked.connect(self.exportRequested.emit)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.keep_button)
        bottom.addWidget(self.labels_check)
        bottom.addWidget(self.export_button)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

    # --- model --------------------------------------------------------------------------
    def set_model(self, template: Recipe, num_ws: int, groups: dict[str, tuple[int, int]],
                  submit_batch: Callable[[list[Recipe], str], None],
                  gallery_recipes: Callable[[], list[Recipe]] = lambda: []) -> None:
        """A model was opened: ``template`` gives sha256 / name / psi / class for typed-in
        seeds; ``groups`` the coarse / middle / fine ws ranges (half-open);
        ``gallery_recipes()`` the gallery faces the "+ gallery" buttons add."""
        self.gallery_recipes = gallery_recipes
        self.template = template.replace(edits=(), mix=None)
        self.num_ws = int(num_ws)
        self.groups = dict(groups)
        self.submit_batch = submit_batch
        self.cache.clear()
        self._extra_rows.clear()
        self._extra_cols.clear()
        for spin in (self.start_spin, self.stop_spin):
            spin.blockSignals(True)
            spin.setRange(0, self.num_ws - 1)
            spin.blockSignals(False)
        self.preset.blockSignals(True)
        self.preset.clear()
        for name, (a, b) in self.groups.items():
            self.preset.addItem(f"{name} ({a}–{b - 1})", (a, b))
        self.preset.addItem("custom", None)
        self.preset.blockSignals(False)
        self.preset.setCurrentIndex(0)
        self._on_preset(0)

    @property
    def layers(self) -> tuple[int, int]:
        """The donor's ws rows, half-open."""
        return self.start_spin.value(), self.stop_spin.value() + 1

    def _on_preset(self, _index: int) -> None:
        span = self.preset.currentData()
        if span is not None:
            for spin, value in ((self.start_spin, span[0]), (self.stop_spin, span[1] - 1)):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)
        self.schedule()

    def _on_custom(self, _value: int) -> None:
        if self.stop_spin.value() < self.start_spin.value():
            self.stop_spin.setValue(self.start_spin.value())
            return
        match = next((i for i in range(self.preset.count()) if self.preset.itemData(i) == self.layers),
                     self.preset.count() - 1)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(match)
        self.preset.blockSignals(False)
        self.schedule()

    def _add_gallery(self, target: list[Recipe]) -> None:
        target.extend(r for r in self.gallery_recipes() if r not in target)
        self.schedule()

    def _clear_gallery(self) -> None:
        self._extra_rows.clear()
        self._extra_cols.clear()
        self.schedule()

    # --- grid -------------------------------------------------------------------------------
    def schedule(self) -> None:
        """Refresh soon (controls fire in bursts); while hidden, when next shown."""
        if self.isVisible():
            self._timer.start()
        else:
            self._stale = True

    @guarded
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.schedule()

    def _seed_faces(self, edit: QtWidgets.QLineEdit) -> list[Recipe]:
        return [self.template.replace(seed=s) for s in parse_seeds(edit.text())]

    def refresh(self) -> None:
        """Rebuild the grid from the controls; render (as one batch) what is not cached."""
        self._timer.stop()
        self._stale = False
        if self.template is None:
            return
        try:
            rows = self._seed_faces(self.rows_edit) + self._extra_rows
            cols = self._seed_faces(self.cols_edit) + self._extra_cols
        except ValueError as exc:
            self.status.setText(str(exc))
            return
        self.grid = MixGrid(tuple(rows), tuple(cols), self.layers)
        self._layout_table()
        missing = [r for r in self.grid.all_recipes() if r not in self.cache]
        n_rows, n_cols = self.grid.shape
        self.status.setText(f"{n_rows} × {n_cols} faces, layers {self.layers[0]}–{self.layers[1] - 1}"
                            + (f"; rendering {len(missing)}" if missing else ""))
        if missing and self.submit_batch is not None:
            self.submitted.append(missing)
            self.submit_batch(missing, TAG)

    def _layout_table(self) -> None:
        n_rows, n_cols = self.grid.shape
        viewport = self.table.viewport().size()
        fit = min((viewport.width() - 4) // (n_cols + 1), (viewport.height() - 4) // (n_rows + 1)) - 4
        self._cell = max(MIN_CELL, min(CELL, fit))
        self.table.clear()
        self.table.setRowCount(n_rows + 1)
        self.table.setColumnCount(n_cols + 1)
        for i in range(n_rows + 1):
            self.table.setRowHeight(i, self._cell + 4)
        for j in range(n_cols + 1):
            self.table.setColumnWidth(j, self._cell + 4)
        self.table.setIconSize(QtCore.QSize(self._cell, self._cell))
        self._where = {}
        corner = QtWidgets.QTableWidgetItem()
        corner.setFlags(QtCore.Qt.NoItemFlags)
        self.table.setItem(0, 0, corner)
        for r, recipe in enumerate(self.grid.rows):
            self._place(r + 1, 0, recipe, self._describe(recipe, "source"))
        for c, recipe in enumerate(self.grid.cols):
            self._place(0, c + 1, recipe, self._describe(recipe, "donor"))
        for r in range(n_rows):
            for c in range(n_cols):
                self._place(r + 1, c + 1, self.grid.cell(r, c),
                            f"row {r + 1} with layers {self.layers[0]}–{self.layers[1] - 1} of column {c + 1}")

    @staticmethod
    def _describe(recipe: Recipe, role: str) -> str:
        edits = f", {len(recipe.edits)} edits" if recipe.edits else ""
        return f"{role}: seed {recipe.seed}{edits}"

    def _place(self, row: int, col: int, recipe: Recipe, tip: str) -> None:
        item = QtWidgets.QTableWidgetItem()
        item.setData(RECIPE_ROLE, recipe)
        item.setToolTip(tip)
        item.setTextAlignment(QtCore.Qt.AlignCenter)
        self.table.setItem(row, col, item)
        self._where.setdefault(recipe, []).append((row, col))
        image = self.cache.get(recipe)
        if image is not None:
            self._show(item, image)
        else:
            item.setText("…")

    def _show(self, item: QtWidgets.QTableWidgetItem, image: np.ndarray) -> None:
        pix = QtGui.QPixmap.fromImage(rgb_to_qimage(image)).scaled(
            self._cell, self._cell, QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation)
        icon = QtGui.QIcon()
        for mode in (QtGui.QIcon.Normal, QtGui.QIcon.Selected, QtGui.QIcon.Active):
            icon.addPixmap(pix, mode)  # an explicit Selected pixmap: selection is not tinted
        item.setText("")
        item.setData(QtCore.Qt.DecorationRole, icon)

    def on_batch(self, result) -> None:
        """A chunk of a batch finished (on the GUI thread); only ``"mix"`` batches are ours."""
        if result.tag != TAG:
            return
        if not result.ok:
            self.status.setText(f"Render failed: {result.error}")
            return
        for recipe, image in zip(result.recipes, result.images):
            self.cache[recipe] = np.ascontiguousarray(image)
            self.cache.move_to_end(recipe)
            for row, col in self._where.get(recipe, ()):
                item = self.table.item(row, col)
                if item is not None:
                    self._show(item, self.cache[recipe])
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        if result.is_last and self.grid is not None:
            self.status.setText(f"{self.grid.shape[0]} × {self.grid.shape[1]} faces, "
                                f"layers {self.layers[0]}–{self.layers[1] - 1}")

    # --- picking -------------------------------------------------------------------------
    def recipe_at(self, row: int, col: int) -> Recipe | None:
        item = self.table.item(row, col)
        return None if item is None else item.data(RECIPE_ROLE)

    def _clicked(self, row: int, col: int) -> None:
        recipe = self.recipe_at(row, col)
        if recipe is not None:
            self.faceChosen.emit(recipe)

    def _double_clicked(self, row: int, col: int) -> None:
        recipe = self.recipe_at(row, col)
        if recipe is not None:
            self.faceOpened.emit(recipe)

    def keep_selected(self) -> None:
        """Ask for every selected cell that has its image to be kept in the gallery."""
        picks = []
        for item in self.table.selectedItems():
            recipe = item.data(RECIPE_ROLE)
            if recipe is not None and recipe in self.cache:
                picks.append((recipe, self.cache[recipe]))
        if picks:
            self.keepRequested.emit(picks)

    def is_complete(self) -> bool:
        """True when every face of the current grid has its image."""
        return self.grid is not None and all(r in self.cache for r in self.grid.all_recipes())
