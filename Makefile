# Everything a fresh Debian machine with Python 3.11 needs, in one place.
# `make run`  : set up and open the studio on the bundled model
# `make test` : set up and run the whole test suite
# `make test-fast` : the fast lane (no whole-window, subprocess or benchmark tests), about 2 minutes
# `make dist` : build the one-folder desktop app in dist/facestudio/ and check it
# `make docs` : regenerate docs/cli.md from the parser (after adding or changing an option)
# `make pip-check` : pip-install the wheel into a fresh virtual environment and render with it
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages: the xcb/EGL libraries Qt's platform plugins load, a virtual
# screen for real-window screenshots, exiftool that the export tests use, and the
# validators of the desktop entry, the AppStream metainfo and the session MIME type, and gio
# (libglib2.0-bin) that launches the desktop entry as a desktop does.
DEBIAN_PACKAGES := libgl1 libegl1 libglib2.0-0 libglib2.0-bin libfontconfig1 libdbus-1-3 \
	libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
	libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
	libxcb-randr0 libxcb-xfixes0 libx11-xcb1 xvfb xauth libimage-exiftool-perl \
	desktop-file-utils appstream shared-mime-info

DIST_STAMP := $(VENV)/.dist-installed
APP_ID     := io.github.facestudio.FaceStudio

.PHONY: setup system-packages run test test-fast bench dist docs pip-check clean

setup: $(STAMP)

system-packages:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
		if [ -n "$$missing" ]; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		fi; \
	else \
		echo "not root or no apt-get: make sure these are installed: $(DEBIAN_PACKAGES)"; \
	fi

$(STAMP): pyproject.toml constraints.txt
	$(MAKE) system-packages
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test,c2pa,lookalike,cluster,data]'
	QT_QPA_PLATFORM=offscreen $(BIN)/python -c "from PySide6 import QtWidgets; QtWidgets.QApplication([])"
	touch $(STAMP)

run: setup
	$(BIN)/facestudio

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

# the fast lane: everything but whole-window, subprocess and benchmark tests (tests/lanes.py)
test-fast: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow"

bench: setup
	$(BIN)/python -m tests.benchmarks.bench_generator

docs: setup
	$(BIN)/python -m facestudio.commands.cli_reference

# What `pip install .` gives a newcomer: the wheel built from this tree, installed with its
# declared dependencies only (CPU torch through constraints.txt) into a new virtual
# environment, must render a stamped, watermarked face and read it back.
pip-check: setup
	$(BIN)/python packaging/pip_check.py --python $(PYTHON)

$(DIST_STAMP): $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[test,c2pa,lookalike,cluster,data,dist]'
	touch $(DIST_STAMP)

# The desktop app as one folder, built offline by PyInstaller from the installed
# environment (packaging/facestudio.spec), then checked: the desktop files validate, and
# the built app passes its headless self-check (version, doctor, render, window screenshot).
dist: $(DIST_STAMP)
	desktop-file-validate packaging/$(APP_ID).desktop
	appstreamcli validate --no-net packaging/$(APP_ID).metainfo.xml
	d=$$(mktemp -d) && mkdir -p $$d/mime/packages && cp packaging/$(APP_ID).mime.xml $$d/mime/packages/ && \
		XDG_DATA_HOME=$$d update-mime-database $$d/mime && \
		grep -qx '50:application/x-facestudio-session:\*\.fsession' $$d/mime/globs2; \
		rc=$$?; rm -rf $$d; exit $$rc
	rm -rf dist/facestudio build/pyinstaller
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/facestudio.spec
	$(BIN)/python packaging/selfcheck.py dist/facestudio
	@du -sh dist/facestudio

clean:
	rm -rf $(VENV) build dist *.egg-info
