"""Upload inputs for the fault tests: a file object whose reads are slow after the first."""

from __future__ import annotations

import io
import time
from email.parser import BytesParser
from email.policy import HTTP

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


def file_part(body: bytes, content_type: str) -> bytes:
    """The ``file`` part's bytes of a multipart/form-data body, parsed by the stdlib email parser."""
    raw = b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    message = BytesParser(policy=HTTP).parsebytes(raw)
    assert message.is_multipart() and not message.defects
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            return data
    raise AssertionError("no file part")
