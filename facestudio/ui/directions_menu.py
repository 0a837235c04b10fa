"""The Directions menu: method picker, user directions, import and export.

The directions themselves live in the studio state's
:class:`~facestudio.session.direction_catalogue.DirectionCatalogue` (``state.directions``):
the chosen discovery method's sliders (PCA, SeFa all / coarse / middle / fine) and the
user's own (made "from A to B", from faces marked positive / negative, or imported), which
sessions save. :class:`DirectionsController` turns the menu's actions into catalogue
changes and shows whatever the catalogue says on the sliders; the renderer gets the
catalogue's snapshots through the render bridge, so a recipe keeps rendering whichever
method the panel shows. The ws of the faces a direction is made from come from the render
worker (the GUI thread maps no seed), so making one finishes when they arrive.

Dialogs go through small hooks (``ask_text``, ``ask_open_path``, ``ask_save_path``,
``ask_marks``) so tests can drive every action without a modal window.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from facestudio.latent.direction_files import adopt, read_directions, write_directions
from facestudio.latent.directions import Direction, DirectionError
from facestudio.latent.user_directions import direction_between, direction_from_examples
from facestudio.ui.sliders import DirectionInfo, DirectionsPanel

DIRECTION_FILTER = "Direction bundles (*.npz);;NumPy vectors (*.npy);;All files (*)"


NAMED_GROUPS = ("Expression", "Pose", "Hair", "Lighting", "Age and gender")  # the dock's headings, in order
DISCOVERED, YOURS = "Discovered", "Your directions"
GROUP_OF_VERSION_1 = {"age": "Age and gender", "gender": "Age and gender"}  # bundles made before groups


def dock_group(d: Direction, named_ids: set[str]) -> str:
    """The heading ``d`` is shown under in the Directions dock."""
    if d.id in named_ids:
        group = d.meta.get("group")
        return group if group in NAMED_GROUPS else GROUP_OF_VERSION_1.get(d.id, "Named")
    return DISCOVERED if d.source in ("pca", "sefa") else YOURS


def in_dock_order(directions: list[Direction], named_ids: set[str]) -> list[tuple[Direction, str]]:
    """``directions`` with their headings: the named groups in :data:`NAMED_GROUPS` order (a
    group's sliders in their bundle's order), then the discovered ones, then the user's."""
    order = {g: i for i, g in enumerate((*NAMED_GROUPS, "Named", DISCOVERED, YOURS))}
    tagged = [(d, dock_group(d, named_ids)) for d in directions]
    return sorted(tagged, key=lambda t: order[t[1]])  # stable: keeps each group's own order


def tooltip(d: Direction) -> str:
    """A named slider's own tooltip (its bundle's ``tooltip``, else its name and which way
    is +); for other directions, how they were made and what one unit is."""
    if d.meta.get("tooltip"):
        return str(d.meta["tooltip"])
    if d.meta.get("measure") and d.meta.get("positive"):
        return f"{d.name}: + = {d.meta['positive']} (fitted on the measure {d.meta['measure']})"
    made = d.meta.get("made_from") or d.meta.get("file") or ""
    parts = [d.source + (f"; {made}" if made else "")]
    if d.meta.get("positive"):
        parts.append(f"+ = {d.meta['positive']}")
    if d.meta.get("conditioned_on"):
        parts.append(f"holds {', '.join(d.meta['conditioned_on'])} fixed")
    if "age_years_per_unit" in d.meta:
        parts.append(f"per unit: age {d.meta['age_years_per_unit']:+.1f} years, "
                     f"p(female) {d.meta['p_female_per_unit']:+.2f} (classifier)")
    if "span_age_years" in d.meta and "span_share" in d.meta:
        parts.append(f"-3 to +3: age {d.meta['span_age_years']:+.0f} years, {100 * d.meta['span_share']:.0f} % "
                     f"of faces from p(female) < 0.2 to > 0.8")
    if d.vector.ndim == 2:
        parts.append("one offset per layer")
    if d.meta.get("acts_on"):
        shares = ", ".join(f"{g} {100 * v:.0f} %" for g, v in d.meta["layer_shares"].items())
        parts.append(f"acts mostly on the {d.meta['acts_on']} layers ({shares} of its reach), so it edits "
                     "those by default")
    return "; ".join(parts + [f"1 unit = {d.scale:.3g} in W"])


class DirectionsController:
    """Shows the state's direction catalogue on the Directions dock's sliders (``panel``)
    and changes it from the Directions menu, for the studio of ``context``."""

    def __init__(self, context, panel: DirectionsPanel, menu: QtWidgets.QMenu):
        self.context = context
        self.panel = panel
        self.state = context.state
        self.catalogue = context.state.directions
        self.ask_text = self._ask_text
        self.ask_open_path = self._ask_open_path
        self.ask_save_path = self._ask_save_path
        self.ask_marks = self._ask_marks
        for entry in (("New direction from A to B", self.new_from_selected_pair),
                      ("New direction from marked faces…", self.new_from_marked_dialog), None,
                      ("Rename direction…", self.rename_dialog), ("Delete direction…", self.delete_dialog), None,
                      ("Import directions…", self.import_dialog), ("Export directions…", self.export_dialog)):
            if entry is None:
                menu.addSeparator()
            else:
                menu.addAction(*entry)
        panel.methodChanged.connect(self.set_method)
        self.catalogue.events.connect(self._on_catalogue)

    # --- what the sliders show -------------------------------------------------------------
    @property
    def model(self):
        return self.state.model

    @property
    def method(self) -> str:
        return self.catalogue.method

    @property
    def user_directions(self) -> tuple[Direction, ...]:
        return self.catalogue.user

    def shown(self) -> list[Direction]:
        """The sliders, in order: the method's directions, then the user's."""
        return self.catalogue.shown() if self.model is not None else []

    def _on_catalogue(self, kind: str, catalogue) -> None:
        if kind == "model":  # another model: its methods in the picker, PCA shown
            self.panel.set_methods(dict(catalogue.methods), catalogue.method)
        self.refresh()

    def set_method(self, method: str) -> None:
        if self.model is not None:
            self.catalogue.set_method(method)

    def refresh(self) -> None:
        """Rebuild the sliders from the catalogue."""
        model, state = self.model, self.state
        if model is None:
            return
        shown = self.shown()
        for d in shown:
            state.default_layers(d.id, d.layers)
        self.panel.set_directions([DirectionInfo(d.id, d.name, d.layers, tooltip(d), group)
                                   for d, group in in_dock_order(shown, self.catalogue.named_ids)], model.num_ws)
        if state.recipe is not None:
            self.panel.sync({e.direction_id: e.amount for e in state.recipe.edits}, state.layers)

    def add(self, directions: list[Direction]) -> list[Direction]:
        """Append user directions (ids already in use get fresh ones); returns them as added."""
        added = self.catalogue.add_user(directions)
        names = ", ".join(d.name for d in added)
        self.context.status(f"Added direction{'s' if len(added) > 1 else ''} {names}", 4000)
        return added

    # --- making directions -------------------------------------------------------------------
    def selected_faces(self):
        ids = self.context.selected_face_ids()
        return [f for f in self.state.gallery if f.id in ids]  # gallery order: A before B

    def new_from_selected_pair(self) -> bool:
        """Make a direction from face A to face B (the two selected); True when the worker
        was asked for their ws (the direction is added when they arrive)."""
        faces = self.selected_faces()
        if self.model is None or len(faces) != 2:
            self.context.report("New direction", "select exactly two faces in the gallery: A (the first) "
                                "and B (the second)")
            return False
        a, b = faces
        name = self.ask_text("New direction", "Name of the direction from A to B:", f"{a.name} → {b.name}")
        if not name:
            return False
        sha = self.model.sha256
        return self._make_from_ws([a.recipe, b.recipe],
                                  lambda ws: direction_between(ws[0], ws[1], name=name, model_sha256=sha))

    def new_from_examples(self, positive_ids, negative_ids, name: str, method: str = "mean") -> bool:
        """Make a direction from faces marked positive and negative; True when asked (see above)."""
        faces = {f.id: f for f in self.state.gallery}
        recipes = [faces[i].recipe for i in list(positive_ids) + list(negative_ids)]
        model, split = self.model, len(positive_ids)
        stats = model.discovery.stats if model.discovery else None
        return self._make_from_ws(recipes, lambda ws: direction_from_examples(
            list(ws[:split]), list(ws[split:]), name=name, method=method, model_sha256=model.sha256, stats=stats))

    def new_from_marked_dialog(self) -> bool:
        faces = self.selected_faces()
        if self.model is None or len(faces) < 2:
            self.context.report("New direction", "select at least two faces in the gallery, then mark "
                                "each one positive or negative")
            return False
        marks = self.ask_marks(faces)
        if not marks:
            return False
        positive, negative, name, method = marks
        return self.new_from_examples(positive, negative, name, method)

    def _make_from_ws(self, recipes, build) -> bool:
        """Ask the render worker for the ws of ``recipes``; ``build(ws)`` makes the direction
        when they arrive (dropped if another model was opened meanwhile)."""
        sha = self.model.sha256

        def made(result) -> None:
            if self.model is None or self.model.sha256 != sha:
                return
            if not result.ok:
                self.context.report("Cannot make the direction", result.error)
                return
            try:
                d = build(result.ws)
            except (DirectionError, ValueError) as exc:
                self.context.report("Cannot make the direction", str(exc))
                return
            self.add([d])

        return self.context.bridge.map_ws(recipes, made)

    # --- naming and deleting -----------------------------------------------------------------
    def rename(self, direction_id: str, name: str) -> None:
        self.catalogue.rename_user(direction_id, name)

    def delete(self, direction_id: str) -> None:
        """Remove a user direction; the current face loses its edit along it (undoable)."""
        gone = self.catalogue.delete_user(direction_id)
        recipe = self.state.recipe
        if gone is not None and recipe is not None and recipe.amount_of(direction_id):
            self.context.history.change(recipe.with_edit(direction_id, 0.0, (0, 1)), f"Delete {gone.name}")

    def _pick_user_direction(self, title: str) -> Direction | None:
        if not self.user_directions:
            self.context.report(title, "there are no directions of your own yet")
            return None
        names = [f"{d.name} ({d.id})" for d in self.user_directions]
        item, ok = QtWidgets.QInputDialog.getItem(self.context.parent, title, "Direction:", names, 0, False)
        return self.user_directions[names.index(item)] if ok and item in names else None

    def rename_dialog(self) -> None:
        d = self._pick_user_direction("Rename direction")
        if d is not None:
            name = self.ask_text("Rename direction", "New name:", d.name)
            if name:
                self.rename(d.id, name)

    def delete_dialog(self) -> None:
        d = self._pick_user_direction("Delete direction")
        if d is not None and self.context.confirm("Delete direction", f"Delete the direction {d.name!r}?"):
            self.delete(d.id)

    # --- files -------------------------------------------------------------------------------
    def import_file(self, path: Path) -> list[Direction]:
        """Import a bundle or .npy; every problem is reported in one sentence."""
        model = self.model
        if model is None:
            return []
        try:
            res = read_directions(path, model.w_dim, model.num_ws, model_sha256=model.sha256)
        except DirectionError as exc:
            self.context.report("Cannot import directions", str(exc))
            return []
        dirs = res.directions
        if res.other_model:
            if not self.context.confirm("Directions from another model",
                                       f"{Path(path).name} was made for another model (sha256 "
                                       f"{res.other_model[:12]}), so its directions may mean nothing here. "
                                       f"Use them anyway?"):
                return []
            dirs = adopt(dirs, model.sha256)
        if Path(path).suffix.lower() == ".npy" and model.discovery is not None:
            dirs = [model.discovery.with_std_scale(d) for d in dirs]
        return self.add(dirs)

    def import_dialog(self) -> None:
        path = self.ask_open_path()
        if path:
            self.import_file(Path(path))

    def export_to(self, path: Path, directions: list[Direction] | None = None) -> bool:
        """Write the shown sliders (or ``directions``): ``.npz`` bundle or ``.npy`` vectors."""
        try:
            write_directions(self.shown() if directions is None else directions, path, overwrite=True)
        except DirectionError as exc:
            self.context.report("Cannot export directions", str(exc))
            return False
        self.context.status(f"Exported directions to {path}", 4000)
        return True

    def export_dialog(self) -> None:
        path = self.ask_save_path()
        if path:
            self.export_to(Path(path))

    # --- default dialogs ---------------------------------------------------------------------
    def _ask_text(self, title: str, label: str, default: str) -> str | None:
        text, ok = QtWidgets.QInputDialog.getText(self.context.parent, title, label, text=default)
        return text.strip() if ok and text.strip() else None

    def _ask_open_path(self) -> str:
        return QtWidgets.QFileDialog.getOpenFileName(self.context.parent, "Import directions", "", DIRECTION_FILTER)[0]

    def _ask_save_path(self) -> str:
        return QtWidgets.QFileDialog.getSaveFileName(self.context.parent, "Export directions", "directions.npz",
                                                     DIRECTION_FILTER)[0]

    def _ask_marks(self, faces):
        dialog = MarkFacesDialog(faces, self.context.parent)
        return dialog.result_marks() if dialog.exec() == QtWidgets.QDialog.Accepted else None


class MarkFacesDialog(QtWidgets.QDialog):
    """Mark each selected face positive or negative, name the direction, pick the fit."""

    def __init__(self, faces, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New direction from marked faces")
        self.faces = list(faces)
        form = QtWidgets.QFormLayout(self)
        self.name_edit = QtWidgets.QLineEdit("New direction")
        form.addRow("Name", self.name_edit)
        self.method_combo = QtWidgets.QComboBox()
        self.method_combo.addItems(["Mean difference", "Linear fit (logistic regression)"])
        form.addRow("Method", self.method_combo)
        self.marks = []
        for i, face in enumerate(self.faces):
            combo = QtWidgets.QComboBox()
            combo.addItems(["Positive", "Negative", "Ignore"])
            combo.setCurrentIndex(0 if i < (len(self.faces) + 1) // 2 else 1)
            self.marks.append(combo)
            form.addRow(face.name, combo)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def result_marks(self):
        pos = [f.id for f, c in zip(self.faces, self.marks) if c.currentIndex() == 0]
        neg = [f.id for f, c in zip(self.faces, self.marks) if c.currentIndex() == 1]
        method = "mean" if self.method_combo.currentIndex() == 0 else "linear"
        return pos, neg, self.name_edit.text().strip() or "New direction", method
