"""Factory params: the large plant at any number of lines."""

import pytest

from twin.factory.config import Plant1000Params, plant_of_lines


def test_a_hundred_lines_are_the_1000_machine_plant():
    assert Plant1000Params(**plant_of_lines(100)) == Plant1000Params()


def test_a_plant_of_three_lines_keeps_the_ratios_per_line():
    params = Plant1000Params(**plant_of_lines(3))
    assert len(params.stations) == 30
    assert len(params.products) == 3
    assert params.agvs is not None
    assert params.agvs.count == 3
    assert params.crew.technicians == 1
    assert params.layout is not None
    assert params.layout.chargers == ["L00in"]
    assert len(params.layout.nodes) == 36  # in, ten stations, out per line


def test_a_plant_needs_a_line():
    with pytest.raises(ValueError, match="at least one line, got 0"):
        plant_of_lines(0)


def test_station_names_must_differ_ignoring_case():
    # Names key random streams, which are lowercase: "L00S1" and "l00s1" would share one.
    params = plant_of_lines(1)
    params["stations"][2]["name"] = "l00s1"
    with pytest.raises(ValueError, match="repeated: L00S1, l00s1"):
        Plant1000Params(**params)
