# The two commands a newcomer needs: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint sample clean spark-demo

$(STAMP): pyproject.toml
	@echo "==> [1/3] Creating the virtual environment $(VENV) (if missing)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] Upgrading pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> [3/3] Installing offload-metrics and its dependencies (about a minute the first time)"
	@$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@touch $(STAMP)
	@echo "==> Installed"

run: $(STAMP)
	@echo "==> $$($(BIN)/python -m offload_metrics.startup)"
	@echo "==> Serving the dashboard at http://localhost:8501 (Ctrl+C stops it)"
	@$(BIN)/streamlit run app.py --server.headless true

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

spark-demo: $(STAMP)
	benchmarks/spark_cluster.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sample: $(STAMP)
	$(BIN)/offload-metrics sample --out sample_data --compress

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
