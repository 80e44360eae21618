"""The outbox worker's cache of shared bodies stays within its bound."""

from __future__ import annotations

from store.assembly import SharedBody
from store.bodies import BodyCache


def body(n: int, size: int) -> SharedBody:
    return SharedBody((bytes([n % 256]) * size, b"tail"))


def test_the_cache_drops_the_least_recently_used_beyond_its_bound() -> None:
    cache = BodyCache()
    assert cache.max_bytes == 8 * 1024 * 1024
    bodies = [body(n, 100_000) for n in range(200)]  # 20 MB in all
    for n, b in enumerate(bodies):
        cache.put(b.digest, b)
        if n == 50:
            assert cache.get(bodies[0].digest) is bodies[0]  # used: kept longer
    held = [b for b in bodies if cache.get(b.digest) is not None]
    assert sum(len(b.content) for b in held) <= cache.max_bytes
    assert bodies[-1] in held and bodies[1] not in held
    assert len(held) == cache.max_bytes // len(bodies[0].content)


def test_a_body_larger_than_the_bound_is_still_kept_alone() -> None:
    cache = BodyCache(max_bytes=1000)
    big = body(1, 5000)
    cache.put(big.digest, big)
    assert cache.get(big.digest) is big
    small = body(2, 10)
    cache.put(small.digest, small)
    assert cache.get(big.digest) is None and cache.get(small.digest) is small
