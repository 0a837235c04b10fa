"""Guard against Qt binding releases that corrupt None's reference count.

PySide6 6.12.0 on Python 3.11 decrements None's refcount on every call that returns
nothing; a long slider session then aborts the interpreter. This fails fast instead.
"""

import sys

import pytest
from PySide6 import QtWidgets

pytestmark = pytest.mark.usefixtures("qapp")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_void_calls_and_empty_combo_data_keep_none_alive():
    slider = QtWidgets.QSlider()
    combo = QtWidgets.QComboBox()
    before = sys.getrefcount(None)
    for i in range(2000):
        slider.setValue(i % 50)
        slider.setSliderDown(i % 2 == 0)
    for _ in range(200):
        combo.currentData()
    assert sys.getrefcount(None) - before > -50
