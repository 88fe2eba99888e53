"""A region config that does not fit together is refused, naming the key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin.region.config import RegionParams, SmallRegionParams, TruckVehicleSpec
from twin.region.policies import PolicySetParams
from twin.traffic.demand import sumo_vclass_type


def test_the_defaults_place_every_in_town_site_at_a_junction():
    params = SmallRegionParams()
    junctions = {j.id for j in params.city.network().intersections}
    assert set(params.places.values()) <= junctions
    assert set(params.places) == {s.name for s in params.supply.sites if s.kind != "supplier"}
    assert RegionParams().truck.build().emission_class == "HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C"


@pytest.mark.parametrize(
    ("emission_class", "vclass"),
    [("HBEFA4/TT_AT_gt34-40t_Euro-VI_A-C", "trailer"), ("HBEFA4/RT_le7.5t_Euro-VI_A-C", "truck")],
)
def test_the_truck_is_the_sumo_class_whose_default_emission_class_it_has(emission_class, vclass):
    # Written to SUMO, the truck gets that class's mass, which SUMO's coasting rule reads.
    truck = TruckVehicleSpec(emission_class=emission_class).build()
    assert truck.vclass == vclass
    assert sumo_vclass_type(vclass, "any").emission_class == emission_class


@pytest.mark.parametrize(
    ("places", "message"),
    [
        ({"plant": "J0_0", "depot": "J1_1"}, "places: 'depot' is not a supply site"),
        ({"plant": "FE0"}, "places.plant: 'FE0' is not a junction of the city"),
        ({"dc0": "J1_1"}, "places: 'dc0' is in the city but its source 'plant' is not"),
    ],
)
def test_a_place_that_does_not_fit_is_refused(places, message):
    with pytest.raises(ValidationError, match=message):
        SmallRegionParams(places=places)


def test_a_policy_set_names_a_policy_of_each_area():
    assert PolicySetParams(signals="signals/max-pressure-v0").signals == "signals/max-pressure-v0"
    with pytest.raises(ValidationError, match=r"a traffic\.signals policy is needed here"):
        PolicySetParams(signals="scaling/hpa-v0")
