"""The export panel's widgets: format and size, provenance and terms, caption, extra files,
batch settings. It only gathers choices (as :class:`ExportOptions` and a :class:`Stamp`) and
remembers them in the settings; :class:`~facestudio.ui.export_dock.ExportController` runs
the exports.

The AI-generated disclosure is shown, never editable: it is always stamped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from facestudio.provenance import AI_DISCLOSURE, CORNERS, Caption, ExportOptions, Stamp, load_templates, make_stamp
from facestudio.provenance.batch import DEFAULT_PATTERN
from facestudio.provenance.c2pa_sign import ALGORITHMS, INSTALL_HINT, C2paSigning, c2pa_available
from facestudio.provenance.caption import DEFAULT_CAPTION
from facestudio.provenance.terms import default_template_id
from facestudio.provenance.export import SCALE_FOR_MARK, cropped_size, exported_size, scale_factor
from facestudio.provenance.watermark import MIN_SIDE as WATERMARK_SIDE, mark_note

FORMATS = (("PNG", "png", ".png"), ("JPEG", "jpeg", ".jpg"), ("WebP", "webp", ".webp"))
CROPS = (("Full frame", "none"), ("Square", "square"), ("Tight square (80 %)", "tight"))
# the export's size: (label, data); "mark" is ExportOptions' SCALE_FOR_MARK, the rest a Lanczos factor
SIZES = (("Large enough for the mark", "mark"), ("Native (the model's pixels)", "1"),
         ("× 2 (Lanczos)", "2"), ("× 4 (Lanczos)", "4"))


def _form(title: str, parent: QtWidgets.QVBoxLayout) -> QtWidgets.QFormLayout:
    box = QtWidgets.QGroupBox(title)
    form = QtWidgets.QFormLayout(box)
    form.setFieldGrowthPolicy(QtWidgets.QFormLayout.AllNonFixedFieldsGrow)
    parent.addWidget(box)
    return form


class _WheelGuard(QtCore.QObject):
    """A wheel over an unfocused combo / spin box / slider scrolls the panel instead of
    silently changing an export setting."""

    def __init__(self, scroll_bar: QtWidgets.QScrollBar, parent=None):
        super().__init__(parent)
        self.scroll_bar = scroll_bar

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QtCore.QEvent.Wheel and not watched.hasFocus():
            QtCore.QCoreApplication.sendEvent(self.scroll_bar, event)
            return True
        return False


class ExportPanel(QtWidgets.QScrollArea):
    """Export choices. ``exportFaceRequested`` / ``exportGalleryRequested`` are the buttons."""

    exportFaceRequested = QtCore.Signal()
    exportGalleryRequested = QtCore.Signal()

    def __init__(self, settings: QtCore.QSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.templates = load_templates()
        self.card_meta: dict[str, str] = {}
        self.model_name = ""
        self.model_sha256 = ""
        self.resolution = 0
        self.setWidgetResizable(True)
        body = QtWidgets.QWidget()
        self.setWidget(body)
        v = QtWidgets.QVBoxLayout(body)
        v.setContentsMargins(4, 4, 4, 4)
        self._build_image(_form("Image", v))
        self._build_stamp(_form("Provenance (stamped into every file)", v))
        self._build_caption(_form("Visible caption", v))
        self._build_files(_form("Extra files", v))
        self._build_batch(_form("Gallery export", v))
        buttons = QtWidgets.QHBoxLayout()
        self.export_button = QtWidgets.QPushButton("Export face…")
        self.export_button.setObjectName("export_face_button")
        self.gallery_button = QtWidgets.QPushButton("Export gallery…")
        self.gallery_button.setObjectName("export_gallery_button")
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.gallery_button)
        v.addLayout(buttons)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        v.addWidget(self.progress)
        v.addWidget(self.status)
        v.addStretch(1)
        self.export_button.clicked.connect(self.exportFaceRequested)
        self.gallery_button.clicked.connect(self.exportGalleryRequested)
        self._restore()
        self._update_enabled()
        self._connect_changes()
        self._wheel_guard = _WheelGuard(self.verticalScrollBar(), self)
        for w in body.findChildren(QtWidgets.QWidget):
            if isinstance(w, (QtWidgets.QComboBox, QtWidgets.QAbstractSpinBox, QtWidgets.QSlider)):
                w.setFocusPolicy(QtCore.Qt.StrongFocus)
                w.installEventFilter(self._wheel_guard)

    # --- construction ------------------------------------------------------------------------
    def _build_image(self, f: QtWidgets.QFormLayout) -> None:
        self.format_combo = QtWidgets.QComboBox()
        for label, fmt, _ in FORMATS:
            self.format_combo.addItem(label, fmt)
        self.quality_spin = QtWidgets.QSpinBox(minimum=1, maximum=100, value=95)
        self.lossless_check = QtWidgets.QCheckBox("Lossless (WebP)")
        self.size_combo = QtWidgets.QComboBox()
        for label, data in SIZES:
            self.size_combo.addItem(label, data)
        self.size_combo.setToolTip(f"Large enough for the mark: upscaled (Lanczos) by the smallest whole factor "
                                   f"that makes the face {WATERMARK_SIDE} × {WATERMARK_SIDE} pixels, so its "
                                   f"invisible watermark survives resizing and cropping. Native: the model's own "
                                   f"pixels (a file too small for the mark says so in its stamp). × 2, × 4: "
                                   f"Lanczos-upscaled by that factor.")
        self.crop_combo = QtWidgets.QComboBox()
        for label, crop in CROPS:
            self.crop_combo.addItem(label, crop)
        self.size_label = QtWidgets.QLabel("")
        self.size_label.setWordWrap(True)
        self.size_label.setToolTip(f"Every export carries an invisible watermark (facestudio and the model's "
                                   f"sha256 prefix) in its pixels; it survives resizing and cropping in an "
                                   f"image of {WATERMARK_SIDE} × {WATERMARK_SIDE} pixels or more.")
        f.addRow("Format", self.format_combo)
        f.addRow("Quality", self.quality_spin)
        f.addRow("", self.lossless_check)
        f.addRow("Size", self.size_combo)
        f.addRow("Crop", self.crop_combo)
        f.addRow("Output size", self.size_label)

    def _build_stamp(self, f: QtWidgets.QFormLayout) -> None:
        disclosure = QtWidgets.QLabel(f"<b>Always stamped:</b> {AI_DISCLOSURE}")
        disclosure.setObjectName("disclosure_label")
        disclosure.setWordWrap(True)
        disclosure.setToolTip("The AI-generated disclosure (IPTC digital source type "
                              "trainedAlgorithmicMedia) cannot be switched off.")
        self.artist_edit = QtWidgets.QLineEdit()
        self.artist_edit.setPlaceholderText("your name (dc:creator, EXIF Artist)")
        self.attribution_edit = QtWidgets.QLineEdit()
        self.terms_combo = QtWidgets.QComboBox()
        for template in self.templates.values():
            self.terms_combo.addItem(template.title, template.id)
        self.additional_edit = QtWidgets.QPlainTextEdit()
        self.additional_edit.setPlaceholderText("additional terms (appended)")
        self.additional_edit.setFixedHeight(48)
        self.licence_label = QtWidgets.QLabel("")
        self.licence_label.setWordWrap(True)
        self.licence_label.setOpenExternalLinks(True)
        self.terms_preview = QtWidgets.QLabel("")
        self.terms_preview.setObjectName("terms_preview")
        self.terms_preview.setWordWrap(True)
        self.terms_preview.setStyleSheet("color: palette(mid);")
        f.addRow(disclosure)
        f.addRow("Artist", self.artist_edit)
        f.addRow("Attribution", self.attribution_edit)
        f.addRow("Licence", self.licence_label)
        f.addRow("Terms", self.terms_combo)
        f.addRow("Add", self.additional_edit)
        f.addRow(self.terms_preview)

    def _build_caption(self, f: QtWidgets.QFormLayout) -> None:
        self.caption_check = QtWidgets.QCheckBox("Draw a caption onto the image")
        self.caption_edit = QtWidgets.QLineEdit(DEFAULT_CAPTION)
        self.corner_combo = QtWidgets.QComboBox()
        self.corner_combo.addItems(list(CORNERS))
        self.opacity_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal, minimum=10, maximum=100, value=80)
        f.addRow(self.caption_check)
        f.addRow("Text", self.caption_edit)
        f.addRow("Corner", self.corner_combo)
        f.addRow("Opacity", self.opacity_slider)

    def _build_files(self, f: QtWidgets.QFormLayout) -> None:
        self.sidecar_check = QtWidgets.QCheckBox("Sidecar recipe (FILE.json)")
        self.c2pa_check = QtWidgets.QCheckBox("Sign a C2PA manifest")
        self.cert_edit, cert_row = self._file_row("certificate chain (PEM)")
        self.key_edit, key_row = self._file_row("private key (PEM)")
        self.alg_combo = QtWidgets.QComboBox()
        self.alg_combo.addItems(list(ALGORITHMS))
        self._c2pa_ok = c2pa_available()
        if not self._c2pa_ok:
            self.c2pa_check.setToolTip(f"needs the optional c2pa-python package: {INSTALL_HINT}")
        self.allow_lookalike_check = QtWidgets.QCheckBox("Export faces that resemble a real photo")
        self.allow_lookalike_check.setToolTip(
            "A face whose identity is close to a training photo's may show a real person, so its export is "
            "refused; tick this to write it anyway (the verdict is recorded in the file). Not remembered.")
        f.addRow(self.sidecar_check)
        f.addRow(self.allow_lookalike_check)
        f.addRow(self.c2pa_check)
        f.addRow("Certificate", cert_row)
        f.addRow("Key", key_row)
        f.addRow("Algorithm", self.alg_combo)

    def _file_row(self, placeholder: str):
        edit = QtWidgets.QLineEdit()
        edit.setPlaceholderText(placeholder)
        button = QtWidgets.QToolButton(text="…")
        button.clicked.connect(lambda: self._browse(edit, placeholder))
        row = QtWidgets.QWidget()
        h = QtWidgets.QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(edit, 1)
        h.addWidget(button)
        return edit, row

    def _browse(self, edit: QtWidgets.QLineEdit, title: str) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, title, "", "PEM files (*.pem *.crt *.key);;All files (*)")
        if path:
            edit.setText(path)

    def _build_batch(self, f: QtWidgets.QFormLayout) -> None:
        self.pattern_edit = QtWidgets.QLineEdit(DEFAULT_PATTERN)
        self.pattern_edit.setToolTip("fields: {seed} {psi} {n} {name} {model}")
        self.selected_only_check = QtWidgets.QCheckBox("Selected faces only")
        self.sheet_check = QtWidgets.QCheckBox("Contact sheet")
        f.addRow("File names", self.pattern_edit)
        f.addRow(self.selected_only_check)
        f.addRow(self.sheet_check)

    # --- state -----------------------------------------------------------------------------
    # the terms template is not remembered: each model's card chooses it (set_model)
    _PERSISTED = ("format_combo", "quality_spin", "lossless_check", "size_combo", "crop_combo", "artist_edit",
                  "caption_check", "caption_edit", "corner_combo", "opacity_slider",
                  "sidecar_check", "c2pa_check", "cert_edit", "key_edit", "alg_combo", "pattern_edit",
                  "sheet_check")

    def _connect_changes(self) -> None:
        for name in self._PERSISTED + ("attribution_edit", "terms_combo"):
            w = getattr(self, name)
            signal = {QtWidgets.QComboBox: "currentIndexChanged", QtWidgets.QSpinBox: "valueChanged",
                      QtWidgets.QSlider: "valueChanged", QtWidgets.QCheckBox: "toggled",
                      QtWidgets.QLineEdit: "textChanged"}[type(w)]
            getattr(w, signal).connect(self._changed)
        self.additional_edit.textChanged.connect(self._changed)

    def _changed(self, *_args) -> None:
        self._update_enabled()
        self._save()

    def _update_enabled(self) -> None:
        fmt = self.format_combo.currentData()
        self.quality_spin.setEnabled(fmt == "jpeg" or (fmt == "webp" and not self.lossless_check.isChecked()))
        self.lossless_check.setEnabled(fmt == "webp")
        for w in (self.caption_edit, self.corner_combo, self.opacity_slider):
            w.setEnabled(self.caption_check.isChecked())
        self.c2pa_check.setEnabled(self._c2pa_ok)
        signing = self._c2pa_ok and self.c2pa_check.isChecked()
        for w in (self.cert_edit, self.key_edit, self.alg_combo):
            w.setEnabled(signing)
        if self.resolution:
            options = ExportOptions(scale=self.scale(), crop=self.crop_combo.currentData())
            w, h = exported_size(self.resolution, self.resolution, options)
            factor = scale_factor(*cropped_size(self.resolution, self.resolution, options.crop), options)
            note = mark_note(w, h)
            if note:
                note = f": {note}"
            elif options.scale is SCALE_FOR_MARK and factor > 1:
                note = f" (× {factor}: large enough for the invisible watermark)"
            self.size_label.setText(f"{w} × {h} px{note or ''}")
        try:
            self.terms_preview.setText(self.stamp().terms)
        except ValueError as exc:
            self.terms_preview.setText(str(exc))

    def scale(self) -> int | None:
        """The chosen size as :class:`ExportOptions`' scale."""
        data = self.size_combo.currentData()
        return SCALE_FOR_MARK if data == "mark" else int(data)

    def _save(self) -> None:
        s = self.settings
        for name in self._PERSISTED:
            w = getattr(self, name)
            key = f"export/{name}"
            if isinstance(w, QtWidgets.QComboBox):
                s.setValue(key, w.currentData() if w.currentData() is not None else w.currentText())
            elif isinstance(w, (QtWidgets.QSpinBox, QtWidgets.QSlider)):
                s.setValue(key, w.value())
            elif isinstance(w, QtWidgets.QCheckBox):
                s.setValue(key, int(w.isChecked()))
            else:
                s.setValue(key, w.text())

    def _restore(self) -> None:
        s = self.settings
        for name in self._PERSISTED:
            value = s.value(f"export/{name}")
            if value is None:
                continue
            w = getattr(self, name)
            try:
                if isinstance(w, QtWidgets.QComboBox):
                    i = w.findData(value) if w.findData(value) >= 0 else w.findText(str(value))
                    if i >= 0:
                        w.setCurrentIndex(i)
                elif isinstance(w, (QtWidgets.QSpinBox, QtWidgets.QSlider)):
                    if w.minimum() <= int(value) <= w.maximum():
                        w.setValue(int(value))
                elif isinstance(w, QtWidgets.QCheckBox):
                    w.setChecked(str(value) in ("1", "true", "True"))
                else:
                    w.setText(str(value))
            except (TypeError, ValueError):  # a hand-edited value: keep the default
                continue

    def set_model(self, card_meta: dict[str, str], name: str, sha256: str, resolution: int) -> None:
        """Take the defaults of a newly opened model: its card's licence and attribution."""
        self.card_meta, self.model_name, self.model_sha256 = dict(card_meta), name, sha256
        self.resolution = resolution
        self.attribution_edit.setPlaceholderText(card_meta.get("attribution") or "attribution line")
        url = card_meta.get("license_url", "")
        licence = card_meta.get("license") or "not stated by the model card"
        self.licence_label.setText(f'{licence} — <a href="{url}">{url}</a>' if url else licence)
        template = default_template_id(card_meta, self.templates)
        self.terms_combo.setCurrentIndex(max(0, self.terms_combo.findData(template)))
        self._update_enabled()

    # --- what the panel says ------------------------------------------------------------------
    @property
    def format(self) -> str:
        return self.format_combo.currentData()

    @property
    def extension(self) -> str:
        return FORMATS[self.format_combo.currentIndex()][2]

    def stamp(self) -> Stamp:
        return make_stamp(self.card_meta, self.model_name, self.model_sha256,
                          artist=self.artist_edit.text(), attribution=self.attribution_edit.text() or None,
                          template_id=self.terms_combo.currentData(),
                          additional_terms=self.additional_edit.toPlainText(), templates=self.templates)

    def options(self, sidecar: bool | None = None) -> ExportOptions:
        """The choices as :class:`ExportOptions`; ValueError (one sentence) when they do not fit."""
        caption = None
        if self.caption_check.isChecked():
            caption = Caption(self.caption_edit.text(), self.corner_combo.currentText(),
                              self.opacity_slider.value() / 100)
        c2pa = None
        if self.c2pa_check.isChecked() and self._c2pa_ok:
            if not self.cert_edit.text() or not self.key_edit.text():
                raise ValueError("C2PA signing needs a certificate chain and a private key (PEM files)")
            c2pa = C2paSigning(Path(self.cert_edit.text()), Path(self.key_edit.text()), self.alg_combo.currentText())
        return ExportOptions(format=self.format, quality=self.quality_spin.value(),
                             lossless=self.lossless_check.isChecked(), scale=self.scale(),
                             crop=self.crop_combo.currentData(), caption=caption,
                             sidecar=self.sidecar_check.isChecked() if sidecar is None else sidecar, c2pa=c2pa)
