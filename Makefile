# Sounding Earth for QGIS — every entry point a user or CI needs.
#   make setup    Debian's QGIS, .venv, pinned packages (idempotent)
#   make test     setup + ruff + pytest (headless QGIS)
#   make demo     setup + the whole pipeline on procedural demo data (DEMO_SIZE=tiny: CI size)
#   make demo-real  the same pipeline on real imagery and recordings from registry packages
#   make package  dist/sounding_qgis.zip (+ plugins.xml); refuses a version the changelog does not list first
#   make translations  sounding_qgis/i18n: the .ts template, each language's .ts updated, .qm compiled
#   make screenshot  QGIS desktop under Xvfb with the plugin -> docs/images/*.png
#   make bench    speed/memory figures into bench/results/
#   make docs     the documentation site into build/site (strict: any warning fails)
#   make eval-labels-real  train-from-labels --compare on a real Landsat scene with 1,000
#                 survey points -> bench/results/labels_real.json (needs make demo-real's model)
#   make corpus-report  every command on every malformed input -> build/corpus-report/corpus-report.md
#   make test-qgis-matrix  the plugin's QGIS tests + install end to end on QGIS 3.40 and 3.44
#                 (Debian 13 root filesystems; needs root, mmdebstrap) -> bench/results/qgis_matrix.json

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SYSTEM_PY := /usr/bin/python3
# python3-qgis: PyQGIS for the venv; qgis: the desktop and qgis_process (tests,
# screenshots); xvfb + xauth: a display for the desktop; python3-venv: the venv;
# python3-sklearn: the pixel random forest that train-from-labels --compare measures against;
# qttools5-dev-tools: lrelease, which compiles the translations (make translations, make package);
# zip: `pb_tool zip` runs it.
APT_PACKAGES := python3-qgis qgis-common qgis python3-venv xvfb xauth python3-sklearn qttools5-dev-tools zip
# Wheels live outside the repository so a fresh clone never downloads torch again.
WHEEL_CACHE ?= $(HOME)/.cache/sounding-earth/wheels
STAMP := $(VENV)/.setup-stamp
# PyQt6 in a venv of its own (no Debian packages: PyQt5 and QGIS stay out of it), for
# tools/check_qt6.py and the widget tests under Qt 6; outside the repository, like the wheels.
QT6_VENV ?= $(HOME)/.cache/sounding-earth/pyqt6-venv
QT6_PY := $(QT6_VENV)/bin/python
export SOUNDING_EARTH_QT6_VENV := $(QT6_VENV)
LINT_PATHS := backend sounding_qgis tests tools resources $(wildcard bench)
PIP := $(PY) -m pip --disable-pip-version-check
export QT_QPA_PLATFORM ?= offscreen

.PHONY: setup test lint format demo demo-real package translations screenshot bench eval-labels-real clean corpus-report docs test-qgis-matrix

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-qt6.txt constraints.txt pyproject.toml Makefile
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@test -x $(PY) || $(SYSTEM_PY) -m venv --system-site-packages $(VENV)
	@mkdir -p $(WHEEL_CACHE)
	@# Fill the wheel cache (files already there are not downloaded again),
	@# then install from the cache alone.
	$(PIP) download -q --dest $(WHEEL_CACHE) --find-links $(WHEEL_CACHE) -r requirements-dev.txt -c constraints.txt
	$(PIP) install -q --no-index --find-links $(WHEEL_CACHE) -r requirements-dev.txt -c constraints.txt
	$(PIP) install -q --no-deps --no-build-isolation --no-index -e .
	@test -x $(QT6_PY) || $(SYSTEM_PY) -m venv $(QT6_VENV)
	$(PIP) download -q --dest $(WHEEL_CACHE) --find-links $(WHEEL_CACHE) -r requirements-qt6.txt
	$(QT6_PY) -m pip --disable-pip-version-check install -q --no-index --find-links $(WHEEL_CACHE) -r requirements-qt6.txt
	@# QGIS's Processing framework lives outside site-packages.
	@echo /usr/share/qgis/python/plugins > $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/qgis-processing.pth
	@touch $(STAMP)
	@echo "setup complete: $(VENV)"

lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	@# Qt 5-only API (unscoped enums, exec_(), PyQt5 imports), checked name by name in PyQt6
	$(QT6_PY) tools/check_qt6.py sounding_qgis tools

format: setup
	$(VENV)/bin/ruff format $(LINT_PATHS)

# Two test processes with one compute thread each (tests/conftest.py): both cores
# busy, and no thread spinning while it waits for a core another job holds.
TEST_WORKERS ?= 2
test: setup lint docs
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The documentation site (MkDocs + Material): the command-line page is generated from
# the argparse definitions (a test fails when it is stale); strict mode fails on any
# warning, broken link or missing anchor.
docs: setup
	$(PY) tools/cli_reference.py --check
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "documentation: $(abspath build/site)/index.html"

# QGIS 3.40 and 3.44 (Debian 13 root filesystems, built once under ~/.cache/sounding-earth/rootfs):
# too long for CI (docs/install.md "Supported QGIS versions"); QGIS_MATRIX=3.44 picks one.
QGIS_MATRIX ?= 3.40 3.44
MATRIX_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo SOUNDING_EARTH_CACHE=$(HOME)/.cache/sounding-earth)
test-qgis-matrix:
	@command -v mmdebstrap >/dev/null || { $(MATRIX_SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(MATRIX_SUDO) apt-get install -y -qq --no-install-recommends mmdebstrap; }
	$(MATRIX_SUDO) $(SYSTEM_PY) tools/qgis_matrix.py --qgis $(QGIS_MATRIX)

# The table of what each command said on each corpus case (not committed: build/ is ignored).
CORPUS_REPORT ?= build/corpus-report
corpus-report: setup
	SOUNDING_CORPUS_REPORT=$(abspath $(CORPUS_REPORT)) $(PY) -m pytest -q tests/test_corpus.py
	@echo "corpus report: $(abspath $(CORPUS_REPORT))/corpus-report.md"

package: setup
	$(PY) tools/package_plugin.py --out dist

# Collects every tr() text of the plugin; new texts arrive in each language as unfinished.
translations: setup
	$(PY) tools/translations.py update
	$(PY) tools/translations.py compile
	$(PY) tools/translations.py check

demo: setup
	$(PY) -m backend demo --out demo-output $(if $(DEMO_SIZE),--size $(DEMO_SIZE),)

demo-real: setup
	$(PY) -m backend demo --source real --out demo-real-output

screenshot: setup package
	@test -e demo-output/index/embeddings.safetensors || $(MAKE) demo
	$(PY) tools/screenshot.py --demo demo-output --zip dist/sounding_qgis.zip --out docs/images

bench: setup
	$(PY) -m bench

eval-labels-real: setup
	@test -e demo-real-output/pretrain/model.safetensors || $(MAKE) demo-real
	$(PY) bench/labels_real.py --init demo-real-output/pretrain/model.safetensors

clean:
	rm -rf dist build .pytest_cache .ruff_cache .qgis-settings
