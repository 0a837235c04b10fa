"""The gallery dock: kept faces as thumbnails; click to restore, rename in place, delete.

It mirrors a :class:`facestudio.session.gallery.Gallery` (plain Python) by listening to its
events, so the gallery can change from anywhere (session load, the Mix view) and the dock
follows. :class:`GalleryController` does what the dock asks to the studio's state.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

THUMB = 96  # logical pixels on screen
THUMB_STORED = 2 * THUMB  # pixels kept: sharp at a device pixel ratio of 2, scaled down below it
ID_ROLE = QtCore.Qt.UserRole


def rgb_to_qimage(rgb: np.ndarray) -> QtGui.QImage:
    """uint8 [H, W, 3] -> a QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format_RGB888).copy()


def thumbnail_pixmap(png: bytes) -> QtGui.QPixmap:
    """A stored thumbnail as a pixmap :data:`THUMB` logical pixels wide: its extra pixels
    (a device pixel ratio) fill a HiDPI screen's device pixels; older 96 px ones show as they are."""
    pix = QtGui.QPixmap()
    pix.loadFromData(png, "PNG")
    if not pix.isNull():
        pix.setDevicePixelRatio(max(1.0, max(pix.width(), pix.height()) / THUMB))
    return pix


def png_thumbnail(rgb: np.ndarray, size: int = THUMB_STORED) -> bytes:
    image = rgb_to_qimage(rgb).scaled(size, size, QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation)
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())


class GalleryDock(QtWidgets.QWidget):
    restoreRequested = QtCore.Signal(str)   # face id
    deleteRequested = QtCore.Signal(str)
    renameRequested = QtCore.Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.gallery = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("gallery_list")
        self.list.setViewMode(QtWidgets.QListView.IconMode)
        self.list.setIconSize(QtCore.QSize(THUMB, THUMB))
        self.list.setResizeMode(QtWidgets.QListView.Adjust)
        self.list.setMovement(QtWidgets.QListView.Static)
        self.list.setSelectionMode(QtWidgets.QAbstractItemView.ExtendedSelection)
        self.list.setEditTriggers(QtWidgets.QAbstractItemView.EditKeyPressed |
                                  QtWidgets.QAbstractItemView.SelectedClicked)
        layout.addWidget(self.list)
        buttons = QtWidgets.QHBoxLayout()
        self.keep_button = QtWidgets.QPushButton("Keep (K)")
        self.delete_button = QtWidgets.QPushButton("Delete")
        buttons.addWidget(self.keep_button)
        buttons.addWidget(self.delete_button)
        layout.addLayout(buttons)
        self.list.itemActivated.connect(self._restore)
        self.list.itemClicked.connect(self._restore)
        self.list.itemChanged.connect(self._renamed)
        self.delete_button.clicked.connect(self._delete_selected)

    def attach(self, gallery) -> None:
        """Show ``gallery`` and follow its events."""
        self.gallery = gallery
        gallery.events.connect(self._on_event)
        self._rebuild()

    def _rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for face in self.gallery:
            self.list.addItem(self._item(face))
        self.list.blockSignals(False)

    def _item(self, face) -> QtWidgets.QListWidgetItem:
        item = QtWidgets.QListWidgetItem(face.name)
        item.setData(ID_ROLE, face.id)
        item.setFlags(item.flags() | QtCore.Qt.ItemIsEditable)
        if face.thumbnail:
            item.setIcon(QtGui.QIcon(thumbnail_pixmap(face.thumbnail)))
        item.setToolTip(f"seed {face.recipe.seed}, ψ {face.recipe.psi:.2f}, {len(face.recipe.edits)} edits")
        return item

    def _on_event(self, kind: str, payload) -> None:
        if kind == "added":
            self.list.blockSignals(True)
            self.list.addItem(self._item(payload))
            self.list.blockSignals(False)
        else:
            self._rebuild()

    def selected_ids(self) -> list[str]:
        """The ids of the selected faces, in the order they were selected."""
        return [item.data(ID_ROLE) for item in self.list.selectedItems()]

    def _find(self, face_id: str) -> QtWidgets.QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(ID_ROLE) == face_id:
                return self.list.item(i)
        return None

    def _restore(self, item: QtWidgets.QListWidgetItem) -> None:
        self.restoreRequested.emit(item.data(ID_ROLE))

    def _renamed(self, item: QtWidgets.QListWidgetItem) -> None:
        name = item.text().strip()
        if name:
            self.renameRequested.emit(item.data(ID_ROLE), name)

    def _delete_selected(self) -> None:
        for item in self.list.selectedItems():
            self.deleteRequested.emit(item.data(ID_ROLE))


class GalleryController:
    """Keeps the face on ``canvas`` in the context's gallery ("Keep", K), restores a kept face
    (one undo step), renames and deletes; tells the user why not (``report``) and what was
    done (``status``)."""

    def __init__(self, context, dock: GalleryDock, canvas):
        state = context.state
        self.state, self.history, self.canvas = state, context.history, canvas
        self.report, self.status = context.report, context.status
        dock.attach(state.gallery)
        dock.keep_button.clicked.connect(self.keep_current)
        dock.restoreRequested.connect(self.restore_face)
        dock.deleteRequested.connect(state.gallery.remove)
        dock.renameRequested.connect(state.gallery.rename)

    def keep_current(self) -> None:
        if self.state.recipe is None or self.canvas.image is None:
            return
        face = self.state.gallery.add(self.state.recipe, thumbnail=png_thumbnail(self.canvas.image))
        self.status(f"Kept {face.name}", 3000)

    def restore_face(self, face_id: str) -> None:
        s = self.state
        if face_id not in s.gallery or s.model is None:
            return
        face = s.gallery.get(face_id)
        if not s.made_with_open_model(face.recipe):
            self.report("Different model", f"{face.name} was made with another model "
                        f"({face.recipe.model_name or face.recipe.model_sha256[:12]}); open that model first.")
            return
        self.history.change(face.recipe.replace(model_name=s.model.name), f"Restore {face.name}")
