"""How a city books its vehicles' fuel into the ledger (``twin.traffic.city``)."""

from __future__ import annotations

import math

import numpy as np

from twin.traffic.city import fuel_to_book


def test_fuel_is_booked_carrier_by_carrier_type_by_type_in_the_given_order() -> None:
    # Types: 0 diesel, 1 petrol, 2 no fuel (an electric car), 3 diesel.
    density = np.array([832.0, 745.0, math.inf, 832.0])
    carrier = np.array([0, 1, -1, 0])  # carriers: 0 diesel, 1 petrol
    vtype = np.array([3, 1, 0, 2, 0, 1, 3])
    fuel_mg = np.array([8320.0, 7450.0, 1664.0, 500.0, 832.0, 0.0, 4160.0])
    booked_mg = np.zeros(7)
    booked_mg[4] = 832.0  # vehicle 4's fuel is booked already
    vehicles = np.array([6, 5, 4, 3, 2, 1, 0])
    order, litres = np.empty(7, dtype=np.int64), np.empty(7)
    bounds = np.zeros(3, dtype=np.int64)
    fuel_to_book(vehicles, fuel_mg, booked_mg, vtype, density, carrier, order, litres, bounds)
    # Diesel: type 0 (vehicle 2), then type 3 in the given order (6, then 0); petrol: 1.
    assert bounds.tolist() == [0, 3, 4]
    assert order[:4].tolist() == [2, 6, 0, 1]
    assert litres[:4].tolist() == [1664.0 / 1000.0 / 832.0, 4160.0 / 1000.0 / 832.0, 0.01, 0.01]
    # What was unbooked is booked now, the electric car's included (it burned nothing).
    assert booked_mg.tolist() == fuel_mg.tolist()
