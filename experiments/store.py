"""The results directory of an experiment: plain files, safe to kill at any moment.

Layout of ``DIR``:

- ``manifest.json``: the resolved config, its hash, package versions, git commit.
- ``parts/<run_id>.json``: one file per finished run (its row and its KPIs), written to
  a temporary name and renamed, so a run is either wholly there or not at all. The part
  files are the record; everything else is derived from them.
- ``runs.parquet``: one row per run (``run_id, scenario, point, arm, policy, replication,
  seed, status, wall_s, error`` and the point's parameters), in the canonical run order.
- ``kpis.parquet``: tidy ``run_id, kpi, value, unit``, in the same order.
- ``timeseries/<run_id>.parquet``: a run's KPI time series, when kept.
- ``summary.parquet``, ``report.html``, ``report.md``, ``figures/``: statistics and report.
- ``sensitivity.parquet``, ``sensitivity_outputs.parquet``: a sensitivity design's indices
  and what each analysed KPI rests on (:mod:`experiments.sensitivity`), instead of
  ``summary.parquet``.

Resuming reads the parts: a finished run is never run (or written) twice.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.design import RunSpec
from experiments.executors import RunOutcome
from twin.core.errors import UserError
from twin.core.files import write_atomically, write_parquet_atomically

MANIFEST = "manifest.json"
PARTS = "parts"
TIMESERIES = "timeseries"
KIND = "twin-experiment"
SENSITIVITY_FILES = ("sensitivity.parquet", "sensitivity_outputs.parquet")
DERIVED = (
    *SENSITIVITY_FILES,
    "runs.parquet",
    "kpis.parquet",
    "summary.parquet",
    "report.html",
    "report.md",
    "figures",
)
RUN_COLUMNS = (
    "run_id",
    "scenario",
    "point",
    "arm",
    "policy",
    "replication",
    "seed",
    "status",
    "wall_s",
    "error",
)


class ResultStore:
    """Reads and writes one experiment's results directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def parts(self) -> Path:
        return self.directory / PARTS

    @classmethod
    def create_or_resume(
        cls, directory: Path, manifest: dict[str, Any], force_new: bool
    ) -> ResultStore:
        """Open ``directory`` for ``manifest``'s config: new, resumed, or (forced) emptied.

        Raises:
            UserError: the directory holds something else, or another config's results
                and ``force_new`` is not set.
        """
        store = cls(directory)
        existing = store.read_manifest_if_any()
        if existing is not None and force_new:
            store.discard()
            existing = None
        if existing is not None and existing.get("config_hash") != manifest["config_hash"]:
            raise UserError(
                f"{directory}: holds results of a different config (hash "
                f"{str(existing.get('config_hash'))[:12]}, this config "
                f"{manifest['config_hash'][:12]}); use --force-new to discard them or "
                "choose another --out"
            )
        directory.mkdir(parents=True, exist_ok=True)
        store.parts.mkdir(exist_ok=True)
        for folder in (directory, store.parts, directory / TIMESERIES):
            for leftover in folder.glob(".tmp-*"):
                leftover.unlink()  # a write cut short by a kill; its run did not finish
        if existing is None:
            write_atomically(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        return store

    def read_manifest_if_any(self) -> dict[str, Any] | None:
        """The experiment manifest, None for a missing or empty directory."""
        directory = self.directory
        if not directory.exists():
            return None
        if not directory.is_dir():
            raise UserError(f"{directory}: exists and is not a directory; choose another --out")
        manifest_file = directory / MANIFEST
        if not manifest_file.exists():
            if any(directory.iterdir()):
                raise UserError(
                    f"{directory}: exists and is not a twin results directory; choose another --out"
                )
            return None
        manifest: dict[str, Any] = json.loads(manifest_file.read_text())
        if manifest.get("kind") != KIND:
            raise UserError(
                f"{directory}: holds a single run's results, not an experiment's; "
                "choose another --out"
            )
        return manifest

    def manifest(self) -> dict[str, Any]:
        manifest = self.read_manifest_if_any()
        if manifest is None:
            raise UserError(f"{self.directory}: no experiment results here (no {MANIFEST})")
        return manifest

    def discard(self) -> None:
        """Remove the results twin wrote here (and nothing else)."""
        for name in (MANIFEST, PARTS, TIMESERIES, *DERIVED):
            path = self.directory / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    def finished(self) -> dict[str, dict[str, Any]]:
        """run_id -> record of every run that finished (ok or failed)."""
        if not self.parts.exists():
            return {}
        records = {}
        for part in self.parts.glob("*.json"):
            record = json.loads(part.read_text())
            records[record["run_id"]] = record
        return records

    def forget(self, run_ids: Iterable[str]) -> None:
        """Remove runs that will be run again, so that the parts stay the one record."""
        for run_id in run_ids:
            (self.directory / TIMESERIES / f"{run_id}.parquet").unlink(missing_ok=True)
            (self.parts / f"{run_id}.json").unlink(missing_ok=True)

    def record(self, spec: RunSpec, outcome: RunOutcome, point: dict[str, Any]) -> dict[str, Any]:
        """Write one finished run; its part file appears last, so it marks completion."""
        if outcome.timeseries is not None and not outcome.timeseries.empty:
            series_dir = self.directory / TIMESERIES
            series_dir.mkdir(exist_ok=True)
            write_parquet_atomically(outcome.timeseries, series_dir / f"{spec.run_id}.parquet")
        record = {
            "run_id": spec.run_id,
            "order": spec.order,
            "scenario": spec.scenario,
            "point": spec.point,
            "arm": spec.arm,
            "policy": spec.policy,
            "replication": spec.replication,
            "seed": spec.seed,
            "status": outcome.status,
            "wall_s": outcome.wall_s,
            "error": outcome.error,
            "params": point,
            "kpis": [[name, _json_float(value), unit] for name, value, unit in outcome.kpis],
        }
        write_atomically(self.parts / f"{spec.run_id}.json", json.dumps(record) + "\n")
        return record

    def consolidate(self, records: Iterable[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Rewrite ``runs.parquet`` and ``kpis.parquet`` from run records, in run order."""
        runs, kpis = frames(records)
        write_parquet_atomically(runs, self.directory / "runs.parquet")
        write_parquet_atomically(kpis, self.directory / "kpis.parquet")
        return runs, kpis

    def timeseries(self, runs: pd.DataFrame) -> pd.DataFrame:
        """Every kept time series, tidy, with the run's scenario, point, arm, replication."""
        series_dir = self.directory / TIMESERIES
        keys = ["run_id", "scenario", "point", "arm", "replication"]
        blocks = []
        for row in runs[runs["status"] == "ok"][keys].itertuples(index=False):
            file = series_dir / f"{row.run_id}.parquet"
            if file.exists():
                block = pd.read_parquet(file)
                for key in keys[1:]:
                    block[key] = getattr(row, key)
                blocks.append(block)
        return pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()


def frames(records: Iterable[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs`` and tidy ``kpis`` frames from run records, sorted by run order."""
    ordered = sorted(records, key=lambda record: record["order"])
    param_keys = sorted({key for record in ordered for key in record["params"]})
    run_rows = []
    kpi_rows = []
    for record in ordered:
        row = {column: record[column] for column in RUN_COLUMNS}
        row |= {key: record["params"].get(key) for key in param_keys}
        run_rows.append(row)
        kpi_rows += [
            (record["run_id"], name, float(value), unit) for name, value, unit in record["kpis"]
        ]
    runs = pd.DataFrame(run_rows, columns=[*RUN_COLUMNS, *param_keys])
    kpis = pd.DataFrame(kpi_rows, columns=["run_id", "kpi", "value", "unit"])
    runs = runs.astype({"point": "int64", "replication": "int64", "seed": "int64"})
    kpis = kpis.astype({"value": "float64"})
    return runs, kpis


def _json_float(value: float) -> float | str:
    # JSON has no inf or NaN; an MTBF without failures is legitimately infinite.
    return value if math.isfinite(value) else repr(value)
