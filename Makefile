# newsarchive: every target uses the project's own virtualenv in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUTPUT ?= demo-archive

.PHONY: help install test test-faults lint typecheck demo bench bench-extract bench-metadata bench-warc bench-storage bench-crawl bench-crawl-quick bench-read bench-distributed clean

help:
	@echo "make test           lint, then the whole test suite (creates $(VENV) if missing)"
	@echo "make test-faults    the long fault-injection trials (SIGKILL, S3 restarts, disk full)"
	@echo "make demo           crawl the bundled sample news site into ./$(OUTPUT)"
	@echo "make bench-extract  extraction quality and speed vs plain trafilatura"
	@echo "make bench-metadata metadata accuracy per field vs plain trafilatura"
	@echo "make bench-warc     WARC writer speed vs plain warcio"
	@echo "make bench-storage  upload MB/s to a local S3 server vs plain boto3"
	@echo "make bench-crawl    crawl throughput, CPU and memory vs ceilings and baselines"
	@echo "make bench-read     articles export vs zcat | wc -l, show --raw on S3 vs a full GET"
	@echo "make bench-distributed  pages/s of 1, 2, 3 fleet workers (Redis) vs a plain crawl"
	@echo "make bench-crawl-quick  the same on a small site, one run (for iterating)"
	@echo "make bench          all benchmarks"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# the stock pip 23 skips lxml_html_clean and trafilatura then fails to import
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# pywb (replay tests) lives in its own virtualenv: it pins redis==2.10.6 and brings
# brotlipy, which clash with scrapy-redis/redis>=4 and with the brotli Scrapy needs.
PYWB_VENV ?= .venv-pywb
PYWB_STAMP := $(PYWB_VENV)/.installed-stamp

$(PYWB_STAMP):
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYWB_VENV)/bin/python -m pip install --quiet 'pywb~=2.10'
	touch $(PYWB_STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check crawler pipelines tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck $(PYWB_STAMP)
	$(BIN)/python -m pytest -m "not faults"

# the long fault-injection trials (SIGKILL, S3 restarts, disk full); see README
test-faults: $(STAMP) $(PYWB_STAMP)
	$(BIN)/python -m pytest -m faults

demo: $(STAMP)
	$(BIN)/newsarchive demo --output $(OUTPUT)

bench-extract: $(STAMP)
	$(BIN)/python -m bench.extract

bench-warc: $(STAMP)
	$(BIN)/python -m bench.warc

bench-metadata: $(STAMP)
	$(BIN)/python -m bench.metadata

bench-crawl: $(STAMP)
	$(BIN)/python -m bench.crawl

bench-crawl-quick: $(STAMP)
	$(BIN)/python -m bench.crawl --quick

bench-storage: $(STAMP)
	$(BIN)/python -m bench.storage

bench-read: $(STAMP)
	$(BIN)/python -m bench.read

bench-distributed: $(STAMP)
	$(BIN)/python -m bench.distributed

bench: bench-extract bench-metadata bench-warc bench-storage bench-crawl bench-read bench-distributed

clean:
	rm -rf $(VENV) $(PYWB_VENV) demo-archive .pytest_cache .ruff_cache .mypy_cache
