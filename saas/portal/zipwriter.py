"""A streaming zip writer for stored entries whose CRC-32 and size are already known.

Invoice files get their CRC-32 and size computed once, when they are published, so
building a "pending downloads" zip only copies bytes: no compression (PDFs are
compressed already) and no second pass over the data. Every entry uses zip64 fields,
so there is no 4 GiB limit. The writer never seeks; it keeps ~100 bytes per entry for
the central directory and nothing else.
"""

from __future__ import annotations

import struct
from datetime import date
from typing import BinaryIO

ZIP64_VERSION = 45  # "version needed to extract": zip64
UTF8_NAMES = 0x0800
UNKNOWN32 = 0xFFFFFFFF
CHUNK = 1 << 20


class ZipSizeMismatch(ValueError):
    """A stored file is not the size or CRC recorded when it was published."""


def _dos_datetime(day: date) -> tuple[int, int]:
    year = min(max(day.year, 1980), 2107)
    return 0, ((year - 1980) << 9) | (day.month << 5) | day.day


class StoredZipWriter:
    def __init__(self, out: BinaryIO):
        self.out = out
        self.offset = 0
        self.entries: list[tuple[bytes, int, int, int, int, int]] = []

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def add(self, name: str, size: int, crc32: int, day: date, source: BinaryIO) -> None:
        """Copy exactly `size` bytes of `source` as entry `name` (stored, not compressed)."""
        encoded = name.encode("utf-8")
        dos_time, dos_date = _dos_datetime(day)
        header_offset = self.offset
        extra = struct.pack("<HHQQ", 0x0001, 16, size, size)
        self._write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                ZIP64_VERSION,
                UTF8_NAMES,
                0,
                dos_time,
                dos_date,
                crc32,
                UNKNOWN32,
                UNKNOWN32,
                len(encoded),
                len(extra),
            )
            + encoded
            + extra
        )
        left = size
        while left:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                raise ZipSizeMismatch(f"{name}: file is shorter than its recorded {size} bytes")
            self._write(chunk)
            left -= len(chunk)
        if source.read(1):
            raise ZipSizeMismatch(f"{name}: file is longer than its recorded {size} bytes")
        self.entries.append((encoded, crc32, size, header_offset, dos_time, dos_date))

    def close(self) -> int:
        """Write the central directory; returns the zip's total size."""
        start = self.offset
        for encoded, crc32, size, header_offset, dos_time, dos_date in self.entries:
            extra = struct.pack("<HHQQQ", 0x0001, 24, size, size, header_offset)
            self._write(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    (3 << 8) | ZIP64_VERSION,
                    ZIP64_VERSION,
                    UTF8_NAMES,
                    0,
                    dos_time,
                    dos_date,
                    crc32,
                    UNKNOWN32,
                    UNKNOWN32,
                    len(encoded),
                    len(extra),
                    0,
                    0,
                    0,
                    0o100644 << 16,
                    UNKNOWN32,
                )
                + encoded
                + extra
            )
        directory_size = self.offset - start
        zip64_end = self.offset
        count = len(self.entries)
        self._write(
            struct.pack(
                "<IQHHIIQQQQ",
                0x06064B50,
                44,
                (3 << 8) | ZIP64_VERSION,
                ZIP64_VERSION,
                0,
                0,
                count,
                count,
                directory_size,
                start,
            )
        )
        self._write(struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1))
        self._write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                UNKNOWN32,
                UNKNOWN32,
                0,
            )
        )
        return self.offset
