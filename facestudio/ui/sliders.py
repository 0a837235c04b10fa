"""Direction sliders: one row per direction, a 2-D pad over two directions, randomise.

Amounts are in slider units (one unit = one standard deviation along the direction),
shown from -3 to +3 with 0.01 resolution. Layer ranges are shown inclusive (start-end) and
emitted half-open ``(start, stop)``. Signals carry a ``dragging`` flag so the window can
ask for cheap previews while the mouse is down and fold a whole drag into one undo step.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtCore, QtGui, QtWidgets

from facestudio.ui.guard import guarded

STEPS_PER_UNIT = 100
MAX_UNITS = 3.0


@dataclass(frozen=True)
class DirectionInfo:
    id: str
    name: str
    layers: tuple[int, int]
    tooltip: str = ""
    group: str = ""  # the heading it is shown under ("" = none); rows of a group come together


class DirectionRow(QtWidgets.QWidget):
    amountChanged = QtCore.Signal(str, float, bool)  # id, amount, dragging
    dragFinished = QtCore.Signal(str)
    layersChanged = QtCore.Signal(str, int, int)  # id, start, stop (half-open)

    def __init__(self, info: DirectionInfo, num_ws: int, parent=None):
        super().__init__(parent)
        self.info = info
        self.default_layers = info.layers
        layout = QtWidgets.QGridLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setHorizontalSpacing(4)
        self.name_label = QtWidgets.QLabel(info.name)
        self.name_label.setToolTip(info.tooltip)
        self.value_label = QtWidgets.QLabel("0.00")
        self.value_label.setMinimumWidth(40)
        self.value_label.setAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.slider.setObjectName(f"slider_{info.id}")
        self.slider.setRange(int(-MAX_UNITS * STEPS_PER_UNIT), int(MAX_UNITS * STEPS_PER_UNIT))
        self.slider.setSingleStep(10)
        self.slider.setPageStep(50)
        self.slider.setAccessibleName(f"{info.name} amount")
        self.reset_button = QtWidgets.QToolButton(text="⟲")
        self.reset_button.setToolTip("Reset this direction to 0 and its default layers")
        self.start_spin = QtWidgets.QSpinBox()
        self.end_spin = QtWidgets.QSpinBox()
        for spin in (self.start_spin, self.end_spin):
            spin.setRange(0, num_ws - 1)
            spin.setToolTip("Layers this direction edits (first-last, inclusive)")
        self.start_spin.setValue(info.layers[0])
        self.end_spin.setValue(info.layers[1] - 1)
        layout.addWidget(self.name_label, 0, 0)
        layout.addWidget(self.value_label, 0, 1)
        layout.addWidget(QtWidgets.QLabel("layers"), 0, 2)
        layout.addWidget(self.start_spin, 0, 3)
        layout.addWidget(self.end_spin, 0, 4)
        layout.addWidget(self.slider, 1, 0, 1, 4)
        layout.addWidget(self.reset_button, 1, 4)
        self.slider.valueChanged.connect(self._on_value)
        self.slider.sliderReleased.connect(lambda: self.dragFinished.emit(self.info.id))
        self.reset_button.clicked.connect(self.reset)
        self.start_spin.valueChanged.connect(self._on_layers)
        self.end_spin.valueChanged.connect(self._on_layers)

    @property
    def amount(self) -> float:
        return self.slider.value() / STEPS_PER_UNIT

    @property
    def layers(self) -> tuple[int, int]:
        return self.start_spin.value(), self.end_spin.value() + 1

    def set_state(self, amount: float, layers: tuple[int, int] | None = None) -> None:
        """Show ``amount``/``layers`` without emitting signals (the window's sync path)."""
        for w in (self.slider, self.start_spin, self.end_spin):
            w.blockSignals(True)
        self.slider.setValue(round(amount * STEPS_PER_UNIT))
        if layers is not None:
            self.start_spin.setValue(layers[0])
            self.end_spin.setValue(layers[1] - 1)
        for w in (self.slider, self.start_spin, self.end_spin):
            w.blockSignals(False)
        self.value_label.setText(f"{self.amount:+.2f}")

    def reset(self) -> None:
        self.set_state(self.amount, self.default_layers)
        self.layersChanged.emit(self.info.id, *self.default_layers)
        self.slider.setValue(0)

    def _on_value(self, value: int) -> None:
        self.value_label.setText(f"{value / STEPS_PER_UNIT:+.2f}")
        self.amountChanged.emit(self.info.id, value / STEPS_PER_UNIT, self.slider.isSliderDown())

    def _on_layers(self) -> None:
        if self.end_spin.value() < self.start_spin.value():
            sender = self.sender()
            other = self.end_spin if sender is self.start_spin else self.start_spin
            other.blockSignals(True)
            other.setValue(sender.value())
            other.blockSignals(False)
        self.layersChanged.emit(self.info.id, *self.layers)


class Pad2D(QtWidgets.QWidget):
    """A square pad: x and y move along two directions at once (-3..3 units each)."""

    moved = QtCore.Signal(float, float, bool)  # x, y, dragging
    released = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(140, 140)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Fixed)
        self.x = self.y = 0.0
        self.setToolTip("Drag to move along the two chosen directions")

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(160, 160)

    def _square(self) -> QtCore.QRectF:
        s = min(self.width(), self.height()) - 8
        return QtCore.QRectF((self.width() - s) / 2, 4, s, s)

    def set_position(self, x: float, y: float) -> None:
        self.x, self.y = x, y
        self.update()

    @guarded
    def paintEvent(self, event) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        r = self._square()
        p.fillRect(r, QtGui.QColor("#2b2d31"))
        p.setPen(QtGui.QPen(QtGui.QColor("#5f6368"), 1))
        p.drawLine(QtCore.QPointF(r.center().x(), r.top()), QtCore.QPointF(r.center().x(), r.bottom()))
        p.drawLine(QtCore.QPointF(r.left(), r.center().y()), QtCore.QPointF(r.right(), r.center().y()))
        cx = r.center().x() + self.x / MAX_UNITS * r.width() / 2
        cy = r.center().y() - self.y / MAX_UNITS * r.height() / 2
        p.setBrush(QtGui.QColor("#8ab4f8"))
        p.setPen(QtCore.Qt.NoPen)
        p.drawEllipse(QtCore.QPointF(cx, cy), 6, 6)

    def _emit_at(self, pos: QtCore.QPointF, dragging: bool) -> None:
        r = self._square()
        x = (pos.x() - r.center().x()) / (r.width() / 2) * MAX_UNITS
        y = -(pos.y() - r.center().y()) / (r.height() / 2) * MAX_UNITS
        self.x = max(-MAX_UNITS, min(MAX_UNITS, round(x, 2)))
        self.y = max(-MAX_UNITS, min(MAX_UNITS, round(y, 2)))
        self.update()
        self.moved.emit(self.x, self.y, dragging)

    @guarded
    def mousePressEvent(self, e) -> None:
        self._emit_at(e.position(), True)

    @guarded
    def mouseMoveEvent(self, e) -> None:
        if e.buttons() & QtCore.Qt.LeftButton:
            self._emit_at(e.position(), True)

    @guarded
    def mouseReleaseEvent(self, e) -> None:
        self._emit_at(e.position(), False)
        self.released.emit()


class DirectionsPanel(QtWidgets.QWidget):
    """All sliders, the pad and "randomise edits"; knows nothing of recipes or rendering."""

    amountChanged = QtCore.Signal(str, float, bool)
    dragFinished = QtCore.Signal(str)
    layersChanged = QtCore.Signal(str, int, int)
    padMoved = QtCore.Signal(str, float, str, float, bool)  # id_x, x, id_y, y, dragging
    randomiseRequested = QtCore.Signal()
    resetAllRequested = QtCore.Signal()
    methodChanged = QtCore.Signal(str)  # discovery method key (pca, sefa, sefa-coarse, ...)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: dict[str, DirectionRow] = {}
        # ids by combo index, kept here: QComboBox.currentData() mishandles None's refcount
        # in PySide6 and crashes after enough calls
        self._pad_ids: list[str] = []
        self._method_keys: list[str] = []
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        method_row = QtWidgets.QHBoxLayout()
        self.method_label = QtWidgets.QLabel("Method")
        self.method_combo = QtWidgets.QComboBox()
        self.method_combo.setObjectName("direction_method")
        self.method_combo.setToolTip("How the sliders were found: PCA of W, or closed-form "
                                     "factorization (SeFa) of all / coarse / middle / fine layers")
        method_row.addWidget(self.method_label)
        method_row.addWidget(self.method_combo, 1)
        outer.addLayout(method_row)
        for w in (self.method_label, self.method_combo):
            w.hide()
        self.method_combo.currentIndexChanged.connect(self._on_method)
        buttons = QtWidgets.QHBoxLayout()
        self.randomise_button = QtWidgets.QPushButton("Randomise edits")
        self.reset_all_button = QtWidgets.QPushButton("Reset all")
        buttons.addWidget(self.randomise_button)
        buttons.addWidget(self.reset_all_button)
        outer.addLayout(buttons)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
        self.scroll.setMinimumWidth(320)
        self.rows_host = QtWidgets.QWidget()
        self.rows_layout = QtWidgets.QVBoxLayout(self.rows_host)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.addStretch(1)
        self.scroll.setWidget(self.rows_host)
        outer.addWidget(self.scroll, 1)
        pad_box = QtWidgets.QGroupBox("2-D pad")
        pad_layout = QtWidgets.QGridLayout(pad_box)
        self.pad_x = QtWidgets.QComboBox()
        self.pad_y = QtWidgets.QComboBox()
        self.pad = Pad2D()
        pad_layout.addWidget(QtWidgets.QLabel("x"), 0, 0)
        pad_layout.addWidget(self.pad_x, 0, 1)
        pad_layout.addWidget(QtWidgets.QLabel("y"), 1, 0)
        pad_layout.addWidget(self.pad_y, 1, 1)
        pad_layout.addWidget(self.pad, 2, 0, 1, 2)
        outer.addWidget(pad_box)
        self.randomise_button.clicked.connect(self.randomiseRequested)
        self.reset_all_button.clicked.connect(self.resetAllRequested)
        self.pad.moved.connect(self._on_pad)
        self.pad.released.connect(lambda: self.dragFinished.emit("pad"))

    def set_directions(self, infos: list[DirectionInfo], num_ws: int) -> None:
        """One row per direction, in the order given, under a heading wherever the group changes."""
        for row in list(self.rows.values()) + getattr(self, "headers", []):
            row.setParent(None)
            row.deleteLater()
        self.rows.clear()
        self.headers: list[QtWidgets.QLabel] = []
        self.pad_x.clear()
        self.pad_y.clear()
        self._pad_ids = []
        group = None
        for info in infos:
            if info.group and info.group != group:
                header = QtWidgets.QLabel(f"<b>{info.group}</b>")
                header.setObjectName("direction_group_" + info.group.lower().replace(" ", "_"))
                header.setContentsMargins(2, 8 if self.headers else 2, 2, 0)
                self.rows_layout.insertWidget(self.rows_layout.count() - 1, header)
                self.headers.append(header)
            group = info.group
            row = DirectionRow(info, num_ws)
            row.amountChanged.connect(self.amountChanged)
            row.dragFinished.connect(self.dragFinished)
            row.layersChanged.connect(self.layersChanged)
            self.rows_layout.insertWidget(self.rows_layout.count() - 1, row)
            self.rows[info.id] = row
            self.pad_x.addItem(info.name)
            self.pad_y.addItem(info.name)
            self._pad_ids.append(info.id)
        if len(infos) > 1:
            self.pad_y.setCurrentIndex(1)

    def set_methods(self, methods: dict[str, str], current: str) -> None:
        """Offer discovery methods (key -> label) with ``current`` selected, without emitting."""
        self.method_combo.blockSignals(True)
        self.method_combo.clear()
        self._method_keys = list(methods)
        self.method_combo.addItems(list(methods.values()))
        if current in self._method_keys:
            self.method_combo.setCurrentIndex(self._method_keys.index(current))
        self.method_combo.blockSignals(False)
        for w in (self.method_label, self.method_combo):
            w.setVisible(len(methods) > 1)

    def _on_method(self, index: int) -> None:
        if 0 <= index < len(self._method_keys):
            self.methodChanged.emit(self._method_keys[index])

    def sync(self, amounts: dict[str, float], layers: dict[str, tuple[int, int]]) -> None:
        """Show the recipe's amounts and layer ranges (no signals)."""
        for did, row in self.rows.items():
            row.set_state(amounts.get(did, 0.0), layers.get(did, row.default_layers))
        x_id, y_id = self.pad_ids()
        self.pad.set_position(amounts.get(x_id, 0.0), amounts.get(y_id, 0.0))

    def pad_ids(self) -> tuple[str | None, str | None]:
        """The direction ids on the pad's x and y axes (None before directions are set)."""
        def pick(combo: QtWidgets.QComboBox) -> str | None:
            i = combo.currentIndex()
            return self._pad_ids[i] if 0 <= i < len(self._pad_ids) else None
        return pick(self.pad_x), pick(self.pad_y)

    def _on_pad(self, x: float, y: float, dragging: bool) -> None:
        x_id, y_id = self.pad_ids()
        if x_id is None or y_id is None:
            return
        self.padMoved.emit(x_id, x, y_id, y, dragging)
