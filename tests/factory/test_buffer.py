"""The buffer between stations: FIFO, finite, blocking and starving, zero places allowed."""

import simpy
from hypothesis import given
from hypothesis import strategies as st

from twin.factory.buffer import Buffer


def test_parts_come_out_in_the_order_they_went_in():
    env = simpy.Environment()
    buffer = Buffer(env, "b", capacity=3)
    for part in "abc":
        assert buffer.put(part).triggered
    assert [buffer.get().value for _ in range(3)] == ["a", "b", "c"]


def test_a_full_buffer_blocks_the_putter_until_a_part_is_taken():
    env = simpy.Environment()
    buffer = Buffer(env, "b", capacity=1)
    buffer.put("a")
    blocked = buffer.put("b")
    assert not blocked.triggered
    assert buffer.get().value == "a"
    assert blocked.triggered
    assert list(buffer.items) == ["b"]


def test_without_places_a_part_goes_straight_to_a_waiting_machine_or_blocks():
    env = simpy.Environment()
    buffer = Buffer(env, "b", capacity=0)
    blocked = buffer.put("a")
    assert not blocked.triggered  # nobody is waiting to take it
    taken = buffer.get()
    assert (taken.value, blocked.triggered) == ("a", True)
    waiting = buffer.get()
    assert not waiting.triggered  # starved
    assert buffer.put("b").triggered
    assert waiting.value == "b"
    assert buffer.held == 0


@given(
    capacity=st.integers(0, 4),
    operations=st.lists(st.booleans(), max_size=60),
)
def test_parts_are_conserved_and_capacity_is_never_exceeded(capacity, operations):
    env = simpy.Environment()
    buffer = Buffer(env, "b", capacity=capacity)
    put_events, got = [], []
    getters = []
    for i, is_put in enumerate(operations):
        if is_put:
            put_events.append(buffer.put(i))
        else:
            getters.append(buffer.get())
        assert buffer.held <= capacity
    got = [g.value for g in getters if g.triggered]
    accepted = sum(1 for p in put_events if p.triggered)
    assert len(got) + buffer.held == accepted
    assert got == sorted(got)  # FIFO
