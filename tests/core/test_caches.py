"""Bounded caches keep their newest entries."""

from twin.core.caches import keep_bounded


def test_a_bounded_cache_keeps_the_newest_entries_in_order():
    cache: dict[int, int] = {}
    for k in range(5):
        keep_bounded(cache, k, k * k, 3)
    assert list(cache.items()) == [(2, 4), (3, 9), (4, 16)]
