"""The Qt studio window (PySide6 + pyqtgraph); talks to the engine only through render/."""
