"""A machine's host RAM (`Host`: bytes a runtime may fill with offloaded tensors, read bandwidth)
and NVMe (`Disk`: sequential read bandwidth), the records `vramkit.plan.machine.Machine` holds
(``host`` / ``disk``, None when not offered). `vramkit.plan.machine` parses them (``--ram``,
``--nvme``, a machine file, this machine); a count of GPUs without host RAM never builds one.
Units: bytes; bandwidths in bytes/s one way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    """Host RAM: bytes a runtime may fill with offloaded tensors and its read bandwidth (bytes/s)."""

    ram_bytes: int
    bandwidth_bytes_per_s: float
    memory_tier: str | None
    source: str


@dataclass(frozen=True)
class Disk:
    """NVMe that mmap'd weights page in from: sequential read bandwidth (bytes/s)."""

    link: str | None
    bandwidth_bytes_per_s: float
    source: str
