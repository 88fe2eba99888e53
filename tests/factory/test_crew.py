"""Technicians work in shifts; corrective repairs go before preventive maintenance."""

import simpy

from twin.core.probes import Level
from twin.factory.config import CrewSpec, Shift
from twin.factory.crew import CORRECTIVE, PREVENTIVE, Crew, _shift_intervals


def test_night_shifts_wrap_around_midnight():
    spec = CrewSpec(shifts=[Shift(start_h=6, hours=8), Shift(start_h=22, hours=4)])
    assert _shift_intervals(spec) == [(0.0, 7200.0), (21600.0, 50400.0), (79200.0, 86400.0)]


def test_work_starts_only_on_shift():
    env = simpy.Environment()
    crew = Crew(env, CrewSpec(technicians=1, shifts=[Shift(start_h=8, hours=8)]), Level("b", env))
    started = []

    def job():
        yield env.timeout(3600)  # a failure at 01:00
        with crew.request(CORRECTIVE) as technician:
            yield technician
            started.append(env.now)

    env.process(job())
    env.run(until=86_400)
    assert started == [8 * 3600.0]


def test_a_repair_running_at_shift_end_is_finished():
    env = simpy.Environment()
    crew = Crew(env, CrewSpec(technicians=1, shifts=[Shift(start_h=8, hours=8)]), Level("b", env))
    log = []

    def job(at_s, duration_s, name):
        yield env.timeout(at_s)
        with crew.request(CORRECTIVE) as technician:
            yield technician
            log.append((name, env.now))
            yield env.timeout(duration_s)

    env.process(job(15 * 3600, 2 * 3600, "overtime"))  # 15:00 to 17:00
    env.process(job(16.5 * 3600, 600, "next day"))
    env.run(until=2 * 86_400)
    assert log == [("overtime", 15 * 3600.0), ("next day", 86_400 + 8 * 3600.0)]


def test_corrective_goes_before_preventive():
    env = simpy.Environment()
    crew = Crew(env, CrewSpec(technicians=1), Level("b", env))
    order = []

    def job(priority, name, delay):
        yield env.timeout(delay)
        with crew.request(priority) as technician:
            yield technician
            order.append(name)
            yield env.timeout(100)

    env.process(job(PREVENTIVE, "first, alone", 0))
    env.process(job(PREVENTIVE, "pm", 1))
    env.process(job(CORRECTIVE, "repair", 2))
    env.run()
    assert order == ["first, alone", "repair", "pm"]
