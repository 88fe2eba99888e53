"""``twin viz``: GIF and MP4 export, and bad input as one line with exit code 2."""

import argparse
import ast
import socket
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from twin.cli import main
from viz.cli import _run_of

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT_WITH_A_TYPO = """
seed = 1
[[scenarios]]
id = "region/coupled-small-v0"
horizon_s = 3600
[[arms]]
name = "baseline"
policy = "region/policy-set-v0"
[[arms]]
name = "ai-signals"
policy = "region/policy-set-v0"
params = { signals = "signals/nope-v0" }
[replications]
count = 2
"""


def test_record_writes_a_gif_with_the_frame_count(tmp_path, capsys):
    out = tmp_path / "run.gif"
    code = main(
        ["viz", "factory/flowline-v0", "--record", str(out), "--frames", "4", "--every", "2"]
    )
    assert code == 0
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == 4
    assert "4 frames" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["run.gif"]


def test_record_writes_an_mp4_that_ffmpeg_reads_back_frame_by_frame(tmp_path, capsys):
    out = tmp_path / "run.mp4"
    argv = ["viz", "traffic/grid4x4-v0", "--compare", "signals/actuated-v0", "--frames", "5"]
    assert main([*argv, "--record", str(out)]) == 0
    assert "5 frames" in capsys.readouterr().out
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Video: h264" in probe.stderr
    assert "960x480" in probe.stderr
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["run.mp4"]


def test_compare_mode_records_both_arms_side_by_side(tmp_path):
    out = tmp_path / "compare.gif"
    argv = ["viz", "traffic/grid4x4-v0", "--compare", "signals/max-pressure-v0"]
    assert main([*argv, "--record", str(out), "--frames", "3", "--seed", "2"]) == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 3
        width, height = gif.size
    assert width == 2 * height


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["viz", "factory/nope", "--record", "{out}"], "unknown scenario"),
        (["viz", "tests.viz.support:Viewless", "--record", "{out}"], "no domain view"),
        (["viz", "factory/flowline-v0", "--port", "70000"], "a port is 0..65535"),
        (["viz", "factory/nope"], "unknown scenario"),
        (["viz", "traffic/grid4x4-v0", "--compare", "maintenance/predictive-v0"], "acts in"),
        (["viz", "factory/flowline-v0", "--record", "{dir}/x.png"], "unknown format"),
        (
            ["viz", "factory/flowline-v0", "--policy", "signals/sotl-v0", "--record", "{out}"],
            "acts in domain",
        ),
        (["viz", "{dir}/missing.toml", "--record", "{out}"], "no such file"),
        (["viz", "factory/flowline-v0", "--frames", "0", "--record", "{out}"], "--frames"),
        (
            ["viz", "factory/flowline-v0", "--select", "machine:99", "--record", "{out}"],
            "--select machine:99: no entity 'machine:99'",
        ),
        (["viz", "factory/flowline-v0", "--select", "machine:0"], "--select goes with --record"),
        (
            ["viz", "{root}/experiments/region.toml", "--arm", "all-AI", "--record", "{out}"],
            "--arm all-AI: not an arm of {root}/experiments/region.toml; arms: baseline, all-ai, "
            "ai-maintenance, ai-signals, ai-replenishment, ai-transport, ai-scaling",
        ),
        (
            ["viz", "{root}/experiments/region.toml", "--compare", "nope", "--record", "{out}"],
            "--compare nope: not an arm of",
        ),
        (
            ["viz", "{root}/experiments/region.toml", "--scenario", "x", "--record", "{out}"],
            "--scenario x: not a scenario of {root}/experiments/region.toml; "
            "scenarios: region/coupled-small-v0",
        ),
        (
            [
                *("viz", "{root}/experiments/region.toml", "--compare", "baseline"),
                *("--compare-params", '{{"signals": "signals/sotl-v0"}}', "--record", "{out}"),
            ],
            "--compare-params does not go with an experiment config; its arms are chosen by name",
        ),
        (
            ["viz", "{dir}/region.toml", "--arm", "ai-signals", "--record", "{out}"],
            "{dir}/region.toml: arms.1.params.signals: Value error, unknown policy "
            "'signals/nope-v0'",
        ),
        (
            [
                *("viz", "station/mmc-v0", "--compare", "admission/queue-cap-v0"),
                *("--compare-params", '{{"max_queue": -1}}', "--record", "{out}"),
            ],
            "<command line>: --compare-params.max_queue: Input should be greater than or equal",
        ),
        (
            [
                *("viz", "region/coupled-small-v0", "--compare", "region/policy-set-v0"),
                *("--compare-params", '{{"signal": "signals/sotl-v0"}}', "--record", "{out}"),
            ],
            "<command line>: --compare-params: unknown key 'signal'; allowed: dispatch, ",
        ),
        (
            [
                *("viz", "station/mmc-v0", "--compare", "admission/queue-cap-v0"),
                *("--compare-params", '{{"max_queue": ', "--record", "{out}"),
            ],
            "argument --compare-params: not valid JSON",
        ),
        (
            ["viz", "station/mmc-v0", "--compare-params", "{{}}", "--record", "{out}"],
            "--compare-params needs --compare",
        ),
        (
            ["viz", "station/mmc-v0", "--policy-params", "{{}}", "--record", "{out}"],
            "--policy-params needs --policy",
        ),
        (
            ["viz", "station/mmc-v0", "--arm", "baseline", "--record", "{out}"],
            "--arm goes with an experiment config (one with [[arms]]), not with a scenario id",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, argv, message):
    out = tmp_path / "out.gif"
    (tmp_path / "region.toml").write_text(EXPERIMENT_WITH_A_TYPO)
    argv = [a.format(out=out, dir=tmp_path, root=ROOT) for a in argv]
    message = message.format(dir=tmp_path, root=ROOT)
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["region.toml"]


def test_a_port_in_use_is_one_line_before_any_server_starts(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["viz", "traffic/grid4x4-v0", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"--port {port}: cannot serve on 127.0.0.1" in err


def test_nothing_outside_viz_imports_viz():
    offenders = []
    for folder in ("twin", "models", "experiments"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                offenders += [f"{path}: {n}" for n in names if n.split(".")[0] == "viz"]
    assert offenders == []


def test_a_run_config_is_replayed_with_its_policy_and_seed(tmp_path, capsys):
    config = tmp_path / "shop.toml"
    config.write_text(
        'seed = 3\n[scenario]\nid = "factory/flowline-v0"\nhorizon_s = 3600.0\ntick_s = 600.0\n'
        '[policy]\nid = "maintenance/fixed-interval-v0"\n'
    )
    out = tmp_path / "shop.gif"
    assert main(["viz", str(config), "--record", str(out), "--frames", "20"]) == 0
    printed = capsys.readouterr().out
    # The config's horizon (3600 s of 600 s ticks) ends the replay after 7 frames.
    assert "7 frames, 3600 s simulated (maintenance/fixed-interval-v0)" in printed
    with Image.open(out) as gif:
        assert gif.n_frames == 7


def test_a_failed_export_is_one_line_and_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    def broken_save(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    out = tmp_path / "x.gif"
    assert main(["viz", "factory/flowline-v0", "--record", str(out), "--frames", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot write (No space left on device)" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_stopped_twin_viz_stops_every_process_it_started(signal_name):
    """SIGTERM (what a test fixture or a process manager sends) or SIGINT (Ctrl-C) to
    ``twin viz`` must not leave the Solara server it started, or any other child,
    running."""
    import signal
    import sys
    import time

    import psutil

    children: list[psutil.Process] = []
    viz = subprocess.Popen(
        [sys.executable, "-m", "twin", "viz", "station/mmc-v0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        assert viz.stdout is not None
        assert "twin viz:" in viz.stdout.readline()
        deadline = time.monotonic() + 30
        while not children and time.monotonic() < deadline:
            children = psutil.Process(viz.pid).children(recursive=True)
            time.sleep(0.1)
        assert children, "twin viz started no server"
        viz.send_signal(getattr(signal, signal_name))
        viz.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=15)
        assert alive == []
    finally:
        # Even when the check fails, no server outlives the test.
        for child in children:
            if child.is_running():
                child.kill()
        if viz.poll() is None:
            viz.kill()
            viz.wait()


def _bare(target, tick_s=None):
    return argparse.Namespace(
        target=target,
        tick_s=tick_s,
        frames=3,
        every=1,
        seed=None,
        **dict.fromkeys(("policy", "policy_params", "compare", "compare_params")),
        **dict.fromkeys(("arm", "scenario")),
    )


def test_a_bare_scenario_moves_at_its_domains_display_tick():
    config = _run_of(_bare("supply/beer-game-v0")).config
    assert (config.tick_s, config.horizon_s) == (86_400.0, 2 * 86_400.0)
    assert _run_of(_bare("factory/flowline-v0")).config.tick_s == 600.0


def test_tick_s_overrides_the_domains_display_tick():
    config = _run_of(_bare("supply/beer-game-v0", tick_s=3_600.0)).config
    assert (config.tick_s, config.horizon_s) == (3_600.0, 7_200.0)


def test_a_selected_entity_is_ringed_in_yellow_in_the_recording(tmp_path):
    def yellow_pixels(out: Path) -> int:
        with Image.open(out) as gif:
            rgb = np.asarray(gif.convert("RGB"), dtype=np.int64)
        # The ring's yellow (#ffd400), which no class of the plant's view is drawn in.
        return int((np.abs(rgb - (255, 212, 0)).sum(axis=2) < 30).sum())

    argv = ["viz", "factory/flowline-v0", "--frames", "1"]
    assert main([*argv, "--record", str(tmp_path / "plain.gif")]) == 0
    assert main([*argv, "--select", "machine:0", "--record", str(tmp_path / "ringed.gif")]) == 0
    assert yellow_pixels(tmp_path / "plain.gif") == 0
    assert yellow_pixels(tmp_path / "ringed.gif") > 20


def test_a_recording_whose_policy_raises_is_one_line_exit_3_and_nothing_written(tmp_path, capsys):
    out = tmp_path / "run.gif"
    argv = ["viz", "factory/flowline-v0", "--policy", "tests.testing.broken:MaintenanceRaises"]
    argv += ["--record", str(out), "--frames", "40", "--tick-s", "600"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("twin: policy 'broken/maintenance-raises-v0' failed at t = ")
    assert err.rstrip().endswith("--debug")  # a replay that parses: twin viz takes --debug
    assert list(tmp_path.iterdir()) == []
    assert main([*argv, "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def _recorded_sessions(monkeypatch) -> list:
    """The sessions ``twin viz --record`` draws, kept as they were recorded."""
    import viz.record

    sessions = []
    real_record = viz.record.record

    def record_and_keep(session, *args, **kwargs):
        sessions.append(session)
        return real_record(session, *args, **kwargs)

    monkeypatch.setattr(viz.record, "record", record_and_keep)
    return sessions


def test_two_arms_of_an_experiment_are_recorded_by_name_on_replication_0s_seed(
    tmp_path, capsys, monkeypatch
):
    from twin.core.streams import replication_seed

    sessions = _recorded_sessions(monkeypatch)
    out = tmp_path / "region.gif"
    argv = ["viz", str(ROOT / "experiments" / "region.toml"), "--arm", "all-ai"]
    argv += ["--compare", "baseline", "--tick-s", "600", "--frames", "2", "--record", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    seed_0 = replication_seed(2026, 0)  # region.toml's seed, as the batch runner derives it
    assert f"scenario region/coupled-small-v0, seed {seed_0} (replication 0's)" in printed
    assert "2 frames, 600 s simulated (all-ai, baseline)" in printed
    (session,) = sessions
    assert session.seed == seed_0
    assert [arm.label for arm in session.arms] == ["all-ai", "baseline"]
    # Both arms run the region's policy set, but not the same set: every area's AI
    # policy against every area's baseline (the signals area, for one).
    started = [{policy.id for policy in arm.world.policies} for arm in session.arms]
    assert {"signals/max-pressure-v0", "transport/consolidate-v0"} <= started[0]
    assert {"signals/fixed-time-v0", "transport/ship-now-v0"} <= started[1]
    assert "signals/max-pressure-v0" not in started[1]
    with Image.open(out) as gif:
        assert gif.n_frames == 2
        assert gif.size == (1440, 960)  # three panels, a row per arm


def test_compare_params_give_the_second_arm_its_params_and_a_label_saying_so(
    tmp_path, capsys, monkeypatch
):
    sessions = _recorded_sessions(monkeypatch)
    out = tmp_path / "station.gif"
    argv = ["viz", "station/mmc-v0", "--policy", "admission/queue-cap-v0"]
    argv += ["--policy-params", '{"max_queue": 2}', "--compare", "admission/queue-cap-v0"]
    argv += ["--compare-params", '{"max_queue": 8}', "--frames", "2", "--record", str(out)]
    assert main(argv) == 0
    labels = ["admission/queue-cap-v0 (params) #1", "admission/queue-cap-v0 (params) #2"]
    assert f"({', '.join(labels)})" in capsys.readouterr().out
    (session,) = sessions
    assert [arm.label for arm in session.arms] == labels
    assert [arm.recorder.policy.params.max_queue for arm in session.arms] == [2, 8]


def test_a_run_configs_policy_is_compared_with_a_policy_given_its_params(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(
        '[scenario]\nid = "station/mmc-v0"\nhorizon_s = 600.0\ntick_s = 60.0\n'
        '[policy]\nid = "admission/admit-all-v0"\n'
    )
    argv = ["viz", str(config), "--compare", "admission/queue-cap-v0"]
    argv += ["--compare-params", '{"max_queue": 3}', "--frames", "2"]
    assert main([*argv, "--record", str(tmp_path / "x.gif")]) == 0
    assert "(admission/admit-all-v0, admission/queue-cap-v0 (params))" in capsys.readouterr().out


def test_an_experiments_scenario_is_chosen_by_label_and_its_baseline_is_the_first_arm(
    tmp_path, capsys, monkeypatch
):
    experiment = tmp_path / "stations.toml"
    experiment.write_text(
        "seed = 9\n"
        '[[scenarios]]\nid = "station/mmc-v0"\nhorizon_s = 600\ntick_s = 60\n'
        '[[scenarios]]\nid = "station/mmc-v0"\nlabel = "three"\nhorizon_s = 600\ntick_s = 60\n'
        "params = { servers = 3 }\n"
        '[[arms]]\nname = "all"\npolicy = "admission/admit-all-v0"\n'
        '[[arms]]\nname = "cap"\npolicy = "admission/queue-cap-v0"\n'
        "params = { max_queue = 1 }\n"
        '[replications]\ncount = 2\n[statistics]\nbaseline = "cap"\n'
    )
    sessions = _recorded_sessions(monkeypatch)
    argv = ["viz", str(experiment), "--scenario", "three", "--seed", "4", "--frames", "2"]
    assert main([*argv, "--record", str(tmp_path / "x.gif")]) == 0
    assert f"{experiment}: scenario three, seed 4 (--seed)" in capsys.readouterr().out
    (session,) = sessions
    assert session.config.params == {"servers": 3}
    assert [arm.label for arm in session.arms] == ["cap"]  # statistics.baseline
    assert session.arms[0].recorder.policy.params.max_queue == 1
