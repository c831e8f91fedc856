"""The stored-entry zip64 writer: readable by zipfile, CRCs right, sizes enforced."""

import io
import os
import zipfile
import zlib
from datetime import date

import pytest

from saas.portal.zipwriter import StoredZipWriter, ZipSizeMismatch


class NoSeek(io.RawIOBase):
    """A sink that cannot seek or tell, like a pipe into S3."""

    def __init__(self):
        self.buffer = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.buffer += data
        return len(data)


def test_zipfile_reads_it_and_every_crc_checks():
    files = {f"2026-01-{n:02d}_FE-{n}.pdf": os.urandom(1000 * n) for n in range(1, 30)}
    files["2026-02-01_Factura-Nº-7.xml"] = "<Invoice>ñ</Invoice>".encode()
    files["empty.xml"] = b""
    sink = NoSeek()
    writer = StoredZipWriter(sink)
    for name, data in files.items():
        writer.add(name, len(data), zlib.crc32(data), date(2026, 1, 5), io.BytesIO(data))
    size = writer.close()
    assert size == len(sink.buffer)
    archive = zipfile.ZipFile(io.BytesIO(bytes(sink.buffer)))
    assert archive.testzip() is None
    assert archive.namelist() == list(files)
    for name, data in files.items():
        assert archive.read(name) == data
        assert archive.getinfo(name).date_time[:3] == (2026, 1, 5)


def test_a_file_of_another_size_than_recorded_is_refused():
    writer = StoredZipWriter(NoSeek())
    with pytest.raises(ZipSizeMismatch, match="shorter"):
        writer.add("a.pdf", 10, 0, date(2026, 1, 1), io.BytesIO(b"12345"))
    with pytest.raises(ZipSizeMismatch, match="longer"):
        writer.add("b.pdf", 3, 0, date(2026, 1, 1), io.BytesIO(b"12345"))


def test_a_wrong_crc_makes_zipfile_complain():
    sink = NoSeek()
    writer = StoredZipWriter(sink)
    writer.add("a.pdf", 5, 12345, date(2026, 1, 1), io.BytesIO(b"12345"))
    writer.close()
    archive = zipfile.ZipFile(io.BytesIO(bytes(sink.buffer)))
    assert archive.testzip() == "a.pdf"
