"""Cold caches on this machine: the kernel's page cache dropped and the private Postgres restarted.

A cold-cache figure is a run whose reads come from the disk: neither the kernel's page cache nor Postgres'
shared buffers hold the database. As root on Linux, ``sync; echo 3 > /proc/sys/vm/drop_caches`` empties the
first (clean pages, dentries and inodes: every cached file page of every process on the machine) and a
restart of the private cluster empties the second. What a measurement then read from the disk is taken from
``/proc/diskstats`` around it, the proof that it was cold: a warm run reads (almost) nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

DROP_CACHES = Path("/proc/sys/vm/drop_caches")
SECTOR = 512
"""/proc/diskstats counts 512-byte sectors whatever the device's block size."""


def page_cache_mb() -> float:
    """The kernel's page cache (``Cached`` of /proc/meminfo), in MB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Cached:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_read_bytes() -> int:
    """Bytes read so far from every whole disk (partitions, loop, RAM and device-mapper devices left out)."""
    total = 0
    for line in Path("/proc/diskstats").read_text().splitlines():
        fields = line.split()
        name = fields[2]
        if name.startswith(("loop", "ram", "dm-", "zram")) or Path(f"/sys/class/block/{name}/partition").exists():
            continue
        total += int(fields[5]) * SECTOR
    return total


def drop_page_cache() -> dict[str, Any]:
    """Write dirty pages out, then drop the clean ones; the page cache's size before and after."""
    before = page_cache_mb()
    os.sync()
    DROP_CACHES.write_text("3\n")
    return {"page_cache_mb_before": round(before), "page_cache_mb_after": round(page_cache_mb())}


def make_cold(cluster: Any | None) -> dict[str, Any]:
    """Stop the private cluster (``LocalPostgres``; None for a server given by DSN, whose shared buffers stay),
    drop the page cache, start the cluster again on the same port; returns what was done, for the JSON."""
    started = time.monotonic()
    if cluster is not None:
        cluster.stop()
    evidence = drop_page_cache()
    if cluster is not None:
        from sms_tracking_dev.local_postgres import wait_until_ready

        wait_until_ready(cluster.start())
    evidence["restarted_postgres"] = cluster is not None
    evidence["seconds"] = round(time.monotonic() - started, 2)
    return evidence
