"""Bad supply networks are refused with one line naming the file and the key, exit 2."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.cli import main
from twin.supply.config import DemandSpec, SiteSpec, SupplyParams

GOOD = """
seed = 1

[scenario]
id = "supply/single-echelon-v0"
horizon_s = 864000

[[scenario.params.sites]]
name = "supplier"
kind = "supplier"

[[scenario.params.sites]]
name = "dc"
kind = "dc"
source = "supplier"

[[scenario.params.sites]]
name = "store"
kind = "retailer"
source = "dc"
trucks = 0
lead_time = { kind = "deterministic", value = 86400 }
demand = { base_per_day = 10.0 }
"""

BAD = {
    "a cycle": (
        GOOD.replace(
            'name = "dc"\nkind = "dc"\nsource = "supplier"',
            'name = "dc"\nkind = "dc"\nsource = "dc2"',
        )
        + '\n[[scenario.params.sites]]\nname = "dc2"\nkind = "dc"\nsource = "dc"\n',
        "scenario.params.sites.1.source: the network has a cycle: dc -> dc2 -> dc; sources must "
        "form a tree (got 'dc2')",
    ),
    "a retailer with no supplier": (
        GOOD.replace('source = "dc"\n', ""),
        "scenario.params.sites.2.source: retailer 'store' has no supplier: set its source to an "
        "upstream site (got None)",
    ),
    "a negative lead time": (
        GOOD.replace("value = 86400", "value = -3600"),
        "scenario.params.sites.2.lead_time.deterministic.value: Input should be greater than or "
        "equal to 0 (got -3600)",
    ),
    "a truck smaller than one pallet (by weight)": (
        GOOD + "\n[scenario.params.truck]\ncapacity_kg = 100.0\n",
        "scenario.params.truck.capacity_kg: truck capacity_kg 100 is less than one pallet "
        "(480 kg = 40 units x 12 kg) (got 100.0)",
    ),
    "a truck with no pallet place": (
        GOOD + "\n[scenario.params.truck]\ncapacity_pallets = 0\n",
        "scenario.params.truck.capacity_pallets: Input should be greater than or equal to 1",
    ),
    "an unknown source": (
        GOOD.replace('source = "dc"', 'source = "dcx"'),
        "scenario.params.sites.2.source: retailer 'store' orders from unknown site 'dcx'; "
        "sites: dc, store, supplier (got 'dcx')",
    ),
    "an unknown transport policy": (
        GOOD.replace(
            "horizon_s = 864000",
            'horizon_s = 864000\nparams.transport_policy = "transport/teleport-v0"',
        ),
        "scenario.params.transport_policy: Value error, unknown policy 'transport/teleport-v0'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_bad_network_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, capsys, monkeypatch, case, command
):
    text, expected = BAD[case]
    config = tmp_path / "net.toml"
    config.write_text(textwrap.dedent(text))
    monkeypatch.chdir(tmp_path)
    extra = ["--out", "out"] if command == "run" else []
    code = main([command, str(config), *extra])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, err
    assert out == ""
    assert len(lines) == 1, err
    assert lines[0].startswith(f"twin: {config}: "), lines[0]
    assert expected in lines[0]
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.toml"]


def test_the_good_network_runs(tmp_path: Path, capsys, monkeypatch):
    config = tmp_path / "net.toml"
    config.write_text(textwrap.dedent(GOOD))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config), "--out", "out", "--quiet"]) == 0
    assert "fill_rate" in capsys.readouterr().out


def sites(**store: object) -> list[SiteSpec]:
    return [
        SiteSpec(name="sup", kind="supplier"),
        SiteSpec(
            name="store", kind="retailer", source="sup", trucks=0, demand=DemandSpec(), **store
        ),
    ]


@pytest.mark.parametrize(
    ("network", "message"),
    [
        (
            [SiteSpec(name="sup", kind="supplier"), SiteSpec(name="sup", kind="supplier")],
            "site name 'sup' is used twice",
        ),
        (
            [*sites(), SiteSpec(name="p", kind="plant", source="sup")],
            "plant 'p' needs capacity_units_per_day",
        ),
        (
            [*sites(), SiteSpec(name="d", kind="dc", source="store")],
            "dc 'd' orders from retailer 'store'; retailers only sell",
        ),
        (
            [SiteSpec(name="sup", kind="supplier", trucks=0), *sites()[1:]],
            "retailer 'store' is served by 'sup', which has no trucks",
        ),
        ([*sites()[:1], SiteSpec(name="d", kind="dc", source="sup")], "at least one retailer"),
    ],
)
def test_network_rules(network, message):
    with pytest.raises(ValidationError, match=message):
        SupplyParams(sites=network)


def test_transport_policy_params_are_checked_against_the_policy():
    with pytest.raises(ValidationError) as caught:
        SupplyParams(
            sites=sites(),
            transport_policy="transport/consolidate-v0",
            transport_policy_params={"fill_target": 2.0},
        )
    first = caught.value.errors()[0]
    assert first["loc"] == ("transport_policy_params", "fill_target")
    assert first["msg"] == "Input should be less than or equal to 1"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SupplyParams(sites=sites(), transport_policy_params={"fill_target": 0.5})
    with pytest.raises(ValidationError, match=r"a supply\.transport policy is needed here"):
        SupplyParams(sites=sites(), transport_policy="replenishment/base-stock-v0")
