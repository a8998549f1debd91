# Two commands (see README): `make` installs everything and builds the demo outputs; `make test` runs the tests.
# Everything lives in .venv so a fresh machine needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all install demo test lint clean

all: demo

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Demo outputs: the demo data (deterministic; identical to the committed copy), its validation summary,
# and every report (6 sections, 6 townships, the year-end review) as HTML and PDF under outputs/.
demo: $(STAMP)
	$(BIN)/edureport demo-data data/demo
	$(BIN)/edureport validate data/demo --summary outputs/validation-summary.txt
	$(BIN)/edureport build --data data/demo

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) outputs/* .pytest_cache
	touch outputs/.gitkeep
