"""The live progress bar of a batch: runs done and failed, ETA, and the headline difference."""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np
from tqdm import tqdm

from experiments.stats import paired_difference

REFRESH_S = 1.0


class BatchProgress:
    """A tqdm bar whose postfix shows the paired change of one KPI against the baseline.

    The estimate is taken on the first scenario and design point, over the replications
    in which every arm has finished, so it settles as the batch goes on.
    """

    def __init__(
        self,
        *,
        total: int,
        done: int,
        failed: int,
        kpi: str,
        scenario: str,
        baseline: str,
        arms: list[str],
        enabled: bool,
    ) -> None:
        self.kpi = kpi
        self.scenario = scenario
        self.baseline = baseline
        self.arms = arms
        self.failed = failed
        """Failed runs, this session and before."""
        self._values: dict[int, dict[str, float]] = defaultdict(dict)
        self._shown_at = 0.0
        self._bar = tqdm(
            total=total,
            initial=done,
            unit="run",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
            smoothing=0.1,
        )

    def add(self, record: dict[str, Any], *, counted: bool = False) -> None:
        """Count one finished run (ok or failed) and take its KPI into the estimate.

        ``counted``: the run finished in an earlier session and is already in the total.
        """
        if record["status"] != "ok":
            self.failed += 0 if counted else 1
        elif record["scenario"] == self.scenario and record["point"] == 0:
            for name, value, _ in record["kpis"]:
                if name == self.kpi:
                    self._values[record["replication"]][record["arm"]] = float(value)
        if not counted:
            self._bar.update(1)
        if time.monotonic() - self._shown_at >= REFRESH_S:
            self._bar.set_postfix_str(self.describe(), refresh=False)
            self._shown_at = time.monotonic()

    def grow(self, total: int) -> None:
        """More replications were planned (a CI target is not met yet)."""
        self._bar.total = total
        self._bar.refresh()

    def describe(self) -> str:
        parts = [f"failed {self.failed}"] if self.failed else []
        changes = []
        for arm in self.arms:
            if arm == self.baseline:
                continue
            pairs = [
                (values[arm], values[self.baseline])
                for values in self._values.values()
                if arm in values and self.baseline in values
            ]
            pairs = [(a, b) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
            if len(pairs) < 2:
                continue
            arm_values, base_values = (np.array(column) for column in zip(*pairs, strict=True))
            paired = paired_difference(arm_values, base_values)
            scale = abs(float(base_values.mean())) or 1.0
            changes.append(
                f"{arm} {100 * paired.relative_change:+.1f}%"
                f"±{100 * paired.difference.halfwidth / scale:.1f}"
            )
        if changes:
            parts.append(f"{self.kpi} vs {self.baseline}: " + ", ".join(changes))
        return " | ".join(parts)

    def close(self) -> None:
        self._bar.set_postfix_str(self.describe(), refresh=False)
        self._bar.close()
