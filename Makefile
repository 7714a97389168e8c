# polystore-gui — set-up, run and test on a fresh Debian machine (see README).
#
#   make run    create .venv, install, launch the GUI on the demo workspace
#   make test   install the app with its test dependencies and the Debian packages
#               napari's GL tests need, then run the whole suite under Xvfb, and
#               polystore-gui --self-test twice (.ci/self-test)
#   make bench  run the benchmarks (results go to benchmarks/README.md by hand)
#   make bundle       build the one-folder PyInstaller bundle in dist/polystore-gui/
#   make test-bundle  build it, then start it under Xvfb and check it (tests marked bundle)
#   make wheel        build the wheel into dist/ (python -m build)
#   make icons        render resources/ (PNG sizes, ICO, ICNS) from the application SVG

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
SCREEN := -screen 0 1600x1000x24

# Qt's xcb platform plugin, Mesa's software OpenGL for napari/vispy, Xvfb, and
# ImageMagick's `import` for screenshots.
DEBIAN_PACKAGES := xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon-x11-0 \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 \
	libxcb-randr0 libxcb-render-util0 libxcb-image0 libdbus-1-3 libfontconfig1 \
	fonts-dejavu-core imagemagick

.PHONY: run test test-fast bench bundle test-bundle wheel icons system-deps venv venv-test clean

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		elif command -v sudo >/dev/null; then \
			sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "Please install these Debian packages:$$missing" >&2; exit 1; \
		fi; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

run: system-deps venv
	@if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ]; then \
		echo "No display: running under Xvfb (take a screenshot with: import -window root shot.png)"; \
		xvfb-run -a -s "$(SCREEN)" $(VENV)/bin/polystore-gui $(ARGS); \
	else \
		$(VENV)/bin/polystore-gui $(ARGS); \
	fi

# The suite, then `polystore-gui --self-test` twice (.ci/self-test: demo, napari config and
# QSettings in a temporary folder), under one Xvfb. The suite must reach its end: a test
# that ended pytest's own process (status 0, most tests never run) fails the target, by
# the file tests/conftest.py writes when the session finishes.
FINISHED := $(VENV)/.pytest-finished
test: system-deps venv-test
	$(VENV)/bin/lint-imports --no-cache
	rm -f $(FINISHED)
	xvfb-run -a -s "$(SCREEN)" sh -c 'PSG_PYTEST_FINISHED=$(FINISHED) $(PY) -m pytest -m "not bundle" $(PYTEST_ARGS) && .ci/check-finished $(FINISHED) && .ci/self-test $(VENV)/bin/polystore-gui'

test-fast: venv-test
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -m "not slow and not gl and not bundle" $(PYTEST_ARGS)

bundle: system-deps venv-test
	$(PIP) install --quiet -e '.[test,bundle]'
	$(VENV)/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/polystore-gui.spec

test-bundle: bundle
	xvfb-run -a -s "$(SCREEN)" $(PY) -m pytest -m bundle $(PYTEST_ARGS)

wheel: venv-test
	$(PY) -m build --wheel --no-isolation --outdir dist .

icons: venv
	$(PY) packaging/make_icons.py

bench: system-deps venv-test
	$(PIP) install --quiet -e '.[test,bench]'
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_startup.py
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_listing.py
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_preview.py
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_chunks.py
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_streaming.py
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_transfers.py
	xvfb-run -a -s "$(SCREEN)" $(PY) benchmarks/bench_session.py

clean:
	rm -rf build dist *.egg-info .pytest_cache
