"""Numba's cache is dropped for every module of a kernel when any of them changes."""

import os

from twin.core.jit import drop_stale_numba_cache


def test_an_older_cache_of_any_module_goes_and_a_fresh_one_stays(tmp_path):
    kernel, helper = tmp_path / "kernel.py", tmp_path / "helper.py"
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    kernel.write_text("")
    helper.write_text("")
    stale = [cache / "kernel.step-10.py311.nbi", cache / "kernel.step-10.py311.1.nbc"]
    fresh = [cache / "helper.go-3.py311.nbi", cache / "helper.go-3.py311.1.nbc"]
    for path in (*stale, *fresh):
        path.write_text("")
    os.utime(kernel, (100, 100))
    for path in stale:
        os.utime(path, (150, 150))  # compiled before the helper changed
    os.utime(helper, (200, 200))
    for path in fresh:
        os.utime(path, (300, 300))
    assert drop_stale_numba_cache([kernel, helper]) == 1
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in fresh] == [True, True]
    assert drop_stale_numba_cache([kernel, helper]) == 0
