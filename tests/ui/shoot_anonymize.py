"""A screenshot of File ▸ Anonymize a photo… on the bundled model.

Run under a virtual X server, e.g.
``xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python tests/ui/shoot_anonymize.py OUT PHOTO``.
Not a test: it opens the real window, opens the dialog, loads ``PHOTO``, makes 4 stand-ins
and saves ``anonymize_dialog.png`` (the dialog) and ``anonymize_gallery.png`` (the window with
the stand-ins in its gallery) in ``OUT``. The dialog shows the photo's face: keep a
screenshot of a photo whose terms do not allow it to be published out of the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

from facestudio.ui.anonymize_dialog import open_anonymize_dialog
from tests.ui.shoot_mix import open_studio, wait


def main(out: Path, photo: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    app, win = open_studio()
    dialog = open_anonymize_dialog(win.context)
    dialog.load_photo(photo)  # the faces are found on a worker
    wait(app, lambda: dialog._thread is None, timeout_s=120)
    if dialog._pixels is None or not dialog._faces:
        raise SystemExit(dialog.status.text())
    dialog.face_combo.setCurrentIndex(dialog.face_combo.count() - 1)  # several faces: the last one
    dialog.make()
    wait(app, lambda: dialog._thread is None and dialog.stand_ins.count() > 0, timeout_s=300)
    dialog.stand_ins.setCurrentRow(1)
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(str(out / "anonymize_dialog.png"))
    win.grab().save(str(out / "anonymize_gallery.png"))
    dialog.close()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
