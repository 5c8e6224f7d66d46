"""Upload inputs for the fault tests: a file object whose reads are slow after the first."""

from __future__ import annotations

import io
import time

MIB = 1024 * 1024


class SlowFile(io.BytesIO):
    """A seekable binary file whose reads after the first take ``delay`` seconds (a slow disk or NFS).

    Reads happen in a worker thread, so the sleep blocks no event loop; it keeps the transport's
    body writer *inside* the body generator for a known time, which is when an abandoned upload
    used to close the generator under the writer's feet (defect 1).
    """

    def __init__(self, data: bytes, delay: float) -> None:
        super().__init__(data)
        self.delay = delay
        self.reads = 0

    def read(self, size: int | None = -1, /) -> bytes:
        self.reads += 1
        if self.reads > 1:
            time.sleep(self.delay)
        return super().read(size)
