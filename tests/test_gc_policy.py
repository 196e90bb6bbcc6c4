"""``wsquake.gc_policy.server_gc``: the CLIs' collector thresholds, restored on exit."""

from __future__ import annotations

import gc

import pytest

from wsquake.gc_policy import SERVER_GC_THRESHOLDS, server_gc


def test_server_gc_sets_the_server_thresholds_inside_and_restores_them_after() -> None:
    before = gc.get_threshold()
    with server_gc():
        assert gc.get_threshold() == SERVER_GC_THRESHOLDS
    assert gc.get_threshold() == before


def test_server_gc_restores_the_thresholds_when_the_body_raises() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), server_gc((5000, 5, 5)):
        raise RuntimeError("boom")
    assert gc.get_threshold() == before


@pytest.mark.parametrize("bad", [(0, 10, 10), (700, 10)])
def test_server_gc_rejects_thresholds_that_are_not_three_positive_integers(bad) -> None:
    with pytest.raises(ValueError, match="three integers >= 1"), server_gc(bad):
        pass
