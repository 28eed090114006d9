"""`--shard K/N`: a stable part of the scenarios, so that N CI runners share one suite run
(`mp107 run --shard K/N`, or pytest's own `--shard K/N`), and `mp107 merge` joins their run folders
into one verdict (mp107/merge.py).

The part is stable: the scenarios selected (after --s1sp and -k/-m) are sorted by pytest node ID and
dealt out in turn, the first to shard 1, the second to shard 2, ...; the same checkout and options
give every runner the same deal, and the shards together hold every scenario exactly once. A target
profile's device pool is dealt out the same way, per kind of device (adapters/device_pool.py
`partition`), so shards against one target never lease the same device."""
from __future__ import annotations

import re

_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse(text: str) -> tuple[int, int]:
    """"K/N" (1 <= K <= N) -> (K - 1, N); ValueError saying what was expected otherwise."""
    m = _SHARD.fullmatch(text or "")
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise ValueError(f"--shard {text}: expected K/N with 1 <= K <= N, e.g. 1/3")
    return int(m[1]) - 1, int(m[2])


def deal(nodeids: list[str], index: int, count: int) -> set[str]:
    """The node IDs of shard `index` (from 0) of `count`."""
    return {nodeid for n, nodeid in enumerate(sorted(nodeids)) if n % count == index}
