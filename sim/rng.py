"""Named random streams.

Each stream's seed derives from (base seed, replication, stable name of the stream),
never from the order in which streams are created, so adding a stream or an
organisation does not shift the others, and the same replication sees the same
demand in every scenario (common random numbers).
"""

from __future__ import annotations

import hashlib

import numpy as np


def _name_words(name: str) -> list[int]:
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def stream(seed: int, replication: int, name: str) -> np.random.Generator:
    """The generator for one named stream of one replication."""
    if seed < 0 or replication < 0:
        raise ValueError("seed and replication must be non-negative")
    entropy = [seed & 0xFFFFFFFF, seed >> 32, replication, *_name_words(name)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
