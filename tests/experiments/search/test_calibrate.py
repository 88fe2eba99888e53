"""``twin calibrate``: recovering the parameters that made synthetic observed data."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import optuna
import pandas as pd
import pytest

from experiments.search import study as study_module
from experiments.search.calibrate import Observed, per_seed_fits, read_observed, run_calibration
from experiments.search.config import parse_calibrate
from experiments.search.observe import main as observe_main
from experiments.search.observe import observe
from experiments.search.space import distributions
from tests.experiments.search.support import station_search
from twin.core.errors import UserError

FIT_STATION = """
[parameters]
"scenario.params.arrival_rate_per_s" = { low = 0.008, high = 0.03, log = true }
"scenario.params.service.mean" = { low = 50.0, high = 150.0 }

[[targets]]
kpi = "throughput_per_h"

[[targets]]
kpi = "utilisation"

[search]
trials = 48
batch = 4

[replications]
count = 3
"""
TRUTH = {"scenario.params.arrival_rate_per_s": 1 / 60, "scenario.params.service.mean": 100.0}


def observed_file(config, tmp_path, truth=TRUTH, seed=99):
    out = tmp_path / "observed.parquet"
    args = [str(config), "--seed", str(seed), "--out", str(out)]
    for key, value in truth.items():
        args += ["--truth", f"{key}={value}"]
    assert observe_main(args) == 0
    return out


@pytest.mark.slow
def test_recovers_arrival_rate_and_service_time_within_ten_percent(tmp_path):
    # Two servers see 3 days at one job a minute; throughput pins the arrival rate and
    # utilisation (rate x mean service / servers) the service time.
    config = station_search(tmp_path, FIT_STATION, horizon_s=3 * 86_400)
    data = observed_file(config, tmp_path)
    results = run_calibration(config, data, tmp_path / "out", executor="inprocess")
    for key, truth in TRUTH.items():
        assert results.best[key] == pytest.approx(truth, rel=0.10), key
    estimates = results.estimates.set_index("parameter")
    assert (estimates["seeds"] == 3).all()
    assert (estimates["seed_min"] <= estimates["seed_max"]).all()
    assert set(results.fit["target"]) == {"throughput_per_h", "utilisation"}
    page = (results.directory / "report.html").read_text()
    assert "Observed against simulated" in page


def test_a_cma_es_calibration_interrupted_mid_generation_resumes_to_the_same_trials(
    tmp_path, monkeypatch
):
    # Stopped while asking its second generation (two of four candidates asked): the
    # resumed search replays the optimiser, checks those two and asks the rest as the
    # uninterrupted search did.
    body = FIT_STATION.replace("trials = 48", 'trials = 12\nsampler = "cmaes"')
    config = station_search(tmp_path, body, horizon_s=2 * 86_400)
    data = observed_file(config, tmp_path)
    whole = run_calibration(config, data, tmp_path / "whole", executor="inprocess", report=False)

    real_make_sampler = study_module.make_sampler

    def interrupted_at_trial_six(config, trial_number):
        if trial_number == 6:
            raise KeyboardInterrupt
        return real_make_sampler(config, trial_number)

    monkeypatch.setattr(study_module, "make_sampler", interrupted_at_trial_six)
    with pytest.raises(KeyboardInterrupt):
        run_calibration(config, data, tmp_path / "resumed", executor="inprocess", report=False)
    monkeypatch.setattr(study_module, "make_sampler", real_make_sampler)
    resumed = run_calibration(
        config, data, tmp_path / "resumed", executor="inprocess", report=False
    )

    pd.testing.assert_frame_equal(resumed.trials, whole.trials)
    assert resumed.best == whole.best


def test_fits_a_time_series_target_by_its_normalised_rmse(tmp_path):
    body = FIT_STATION.replace('kpi = "utilisation"', 'probe = "completed"').replace(
        "trials = 48", "trials = 8"
    )
    config = station_search(tmp_path, body, horizon_s=40_000, sample_period_s=3_600)
    data = observed_file(config, tmp_path)
    observed = pd.read_parquet(data)
    series = observed[observed["name"] == "completed"]
    # Hourly samples from the end of the warm-up (1 h), and one at the horizon.
    assert list(series["time_s"]) == [3600.0 * h for h in range(1, 12)] + [40_000.0]
    results = run_calibration(config, data, tmp_path / "out", executor="inprocess", report=False)
    fitted = results.fit[results.fit["target"] == "completed"]
    assert list(fitted["time_s"]) == list(series["time_s"])
    trials = results.trials
    assert trials["d completed"].notna().all()
    assert (trials["d completed"] >= 0).all()  # an RMSE


def test_observations_read_as_kpis_and_sorted_series(tmp_path):
    path = tmp_path / "observed.parquet"
    pd.DataFrame(
        {
            "name": ["throughput", "throughput", "wip", "wip"],
            "time_s": [math.nan, math.nan, 7200.0, 3600.0],
            "value": [10.0, 12.0, 5.0, 4.0],
        }
    ).to_parquet(path)
    observed = read_observed(path)
    assert observed.kpis == {"throughput": 11.0}
    times, values = observed.series["wip"]
    assert list(times) == [3600.0, 7200.0]
    assert list(values) == [4.0, 5.0]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"name": ["a"]}), "missing column(s) value"),
        (pd.DataFrame({"name": ["a"], "value": [math.inf]}), "missing or infinite"),
    ],
)
def test_malformed_observations_are_one_line(tmp_path, frame, message):
    path = tmp_path / "observed.parquet"
    frame.to_parquet(path)
    with pytest.raises(
        UserError, match="--data: .*" + message.replace("(", r"\(").replace(")", r"\)")
    ):
        read_observed(path)


def test_a_target_missing_from_the_data_is_refused_before_any_run(tmp_path):
    config = station_search(tmp_path, FIT_STATION)
    observed = Observed({"throughput_per_h": 60.0}, {}, "observed.parquet")
    with pytest.raises(UserError, match=r"no KPI rows .* named 'utilisation' for targets.1"):
        run_calibration(config, observed, tmp_path / "out", executor="inprocess")
    assert not (tmp_path / "out").exists()


ROOT = Path(__file__).resolve().parents[3]
FLOWLINE_TRUTH = {
    "scenario.params.products.0.interarrival.mean": 110.0,
    "scenario.params.stations.*.degradation.drift_per_h": 0.02,
}


@pytest.mark.slow
def test_recovers_the_flow_lines_order_interval_and_wear_rate(tmp_path):
    # The shipped calibration on 15 days, observed for 15 days. Released parts pin the
    # order interval; the wear is read from failure counts: at 0.02/h (a mean life of
    # 50 h) the observation holds about 30 failures and a candidate's three runs about
    # 90, so the mean time between failures is known to about 21% (Poisson counts). The
    # stated errors: 10% for the order interval, 40% (about 2 of those) for the wear.
    shipped = (ROOT / "experiments" / "calibrate_flowline.toml").read_text()
    fitted = (
        shipped.replace("horizon_s = 2_592_000", "horizon_s = 1_296_000")
        .replace("low = 0.0005, high = 0.02", "low = 0.002, high = 0.08")
        .replace("trials = 48", "trials = 36")
    )
    assert "high = 0.08" in fitted
    config = parse_calibrate(tomllib.loads(fitted), "fitted.toml")
    observed = observe(config, FLOWLINE_TRUTH, seed=99)
    data = tmp_path / "observed.parquet"
    observed.to_parquet(data)
    results = run_calibration(
        config, data, tmp_path / "out", executor="process", workers=2, report=False
    )
    interval, wear = FLOWLINE_TRUTH.values()
    assert results.best["scenario.params.products.0.interarrival.mean"] == pytest.approx(
        interval, rel=0.10
    )
    assert results.best["scenario.params.stations.*.degradation.drift_per_h"] == pytest.approx(
        wear, rel=0.40
    )


def test_observe_refuses_a_truth_that_is_not_a_parameter(tmp_path, capsys):
    config = station_search(tmp_path, FIT_STATION)
    out = tmp_path / "observed.parquet"
    code = observe_main(
        [str(config), "--truth", "scenario.params.servers=3", "--seed", "1", "--out", str(out)]
    )
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "observe: --truth: scenario.params.servers not among the parameters: "
        "scenario.params.arrival_rate_per_s, scenario.params.service.mean"
    )
    assert not out.exists()


def test_each_seed_is_fitted_at_the_minimum_of_its_own_loss_surface(tmp_path):
    # Every trial ran every seed; seed r's loss is a bowl whose minimum lies between the
    # points tried, at arrival rate 0.012 + 0.002 r (log axis) and service 80 + 10 r s.
    config = parse_calibrate(
        tomllib.loads(station_search(tmp_path, FIT_STATION).read_text()), "fit.toml"
    )
    low, high = math.log(0.008), math.log(0.03)

    def unit_rate(rate):
        return (math.log(rate) - low) / (high - low)

    def loss(r, rate, service):
        return (
            0.5
            + 3.0 * (unit_rate(rate) - unit_rate(0.012 + 0.002 * r)) ** 2
            + 2.0 * ((service - 80 - 10 * r) / 100) ** 2
        )

    study = optuna.create_study()
    grid = [(rate, service) for rate in (0.009, 0.011, 0.015, 0.02) for service in (60, 95, 130)]
    for rate, service in grid:
        params = {
            "scenario.params.arrival_rate_per_s": rate,
            "scenario.params.service.mean": float(service),
        }
        losses = [loss(r, rate, service) for r in range(3)]
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions(config),
                value=sum(losses) / 3,
                user_attrs={"replication_losses": losses},
            )
        )
    fits = per_seed_fits(study, config)
    assert list(fits["method"]) == ["surface"] * 3
    for r, row in fits.iterrows():
        assert row["scenario.params.arrival_rate_per_s"] == pytest.approx(0.012 + 0.002 * r)
        assert row["scenario.params.service.mean"] == pytest.approx(80 + 10 * r)
        assert row["loss"] == pytest.approx(0.5)


def test_a_seed_whose_surface_is_not_a_bowl_keeps_its_best_trial(tmp_path):
    config = parse_calibrate(
        tomllib.loads(station_search(tmp_path, FIT_STATION).read_text()), "fit.toml"
    )
    study = optuna.create_study()
    for rate in (0.009, 0.011, 0.015, 0.02):
        for service in (60, 95, 130):
            saddle = 1.0 + (rate - 0.014) ** 2 * 1e4 - ((service - 95) / 100) ** 2
            study.add_trial(
                optuna.trial.create_trial(
                    params={
                        "scenario.params.arrival_rate_per_s": rate,
                        "scenario.params.service.mean": float(service),
                    },
                    distributions=distributions(config),
                    value=saddle,
                    user_attrs={"replication_losses": [saddle, saddle, saddle]},
                )
            )
    fits = per_seed_fits(study, config)
    best = min(study.trials, key=lambda t: (t.value, t.number))
    assert list(fits["method"]) == ["best trial"] * 3
    assert list(fits["trial"]) == [best.number] * 3
