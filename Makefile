# `make demo` and `make test` work on a fresh clone: they create .venv when it is missing
# and reinstall only when pyproject.toml or constraints.txt changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.twin-installed
EXTRAS ?= dev

.PHONY: demo demo-live test lint bench constraints clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing twin and its dependencies into $(VENV) (log: $(VENV)/install.log)"
	@( $(BIN)/python -m pip install --upgrade pip \
	  && $(BIN)/python -m pip install -c constraints.txt -e '.[$(EXTRAS)]' \
	) > $(VENV)/install.log 2>&1 || (tail -40 $(VENV)/install.log; exit 1)
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/twin run experiments/factory_maintenance.toml

# The live twin's two closed loops, every part a real process on a local mosquitto
# (Debian: apt-get install mosquitto; macOS: brew install mosquitto): SUMO as the real
# city, then an emulated plant as the real factory, each beside its shadow twin.
demo-live: $(STAMP)
	rm -rf results/live-city results/live-plant
	$(BIN)/python -m twin.live.demo_city --seeds 1,2,3
	$(BIN)/python -m twin.live.demo_plant --days 14 --seeds 11,12,13

# The kernel tests run twice: compiled, and as plain Python under NUMBA_DISABLE_JIT=1, so
# the pure-Python semantics and the compiled code are both checked. As plain Python the
# SplitMix64 hash (traffic/insertion.py) wraps numpy uint64 scalars, which numpy warns
# about; the wrap is the algorithm (test_a_tries_uniforms_are_splitmix64_...).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadscope --durations=25
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
		-W "ignore:overflow encountered in scalar:RuntimeWarning" tests/factory/test_kernels.py tests/traffic/test_kernels.py tests/cloud/test_kernels.py \
		tests/traffic/test_insertion.py tests/traffic/test_lane_change.py tests/traffic/test_rerouting.py \
		tests/core/test_sensor_kernels.py tests/core/test_raw_draws.py tests/traffic/test_loop_detectors.py tests/traffic/test_fixed_lights.py tests/traffic/test_change_intervals.py \
		tests/traffic/test_city.py tests/traffic/test_scheduled_stops.py

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/des_overhead.py
	$(BIN)/python benchmarks/degradation_kernel.py
	$(BIN)/python benchmarks/batch_scaling.py

# Refresh the pinned versions after changing dependencies in pyproject.toml.
constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^twin' > constraints.txt

clean:
	rm -rf $(VENV) results .pytest_cache .mypy_cache .ruff_cache .hypothesis
