"""What a bulk upload holds: file names and kinds, how invoices and PDFs pair, and the
bounded reading of zips (entry count, declared and real sizes, compression ratio and
method, no nested zips), so a hostile zip is refused before and while it is read.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from flask import current_app

MAX_FILES = 1000  # per upload, counting the files inside a zip
# A zip may be as large as a request (MAX_CONTENT_LENGTH); what its members may expand to
# is UPLOAD_MAX_EXPANDED_BYTES and UPLOAD_MAX_RATIO (saas/config.py).
RATIO_FLOOR = 1024 * 1024  # members up to this size are never refused for their ratio
CHUNK_BYTES = 1024 * 1024
# Entries a zip's directory may list (directories and macOS "__MACOSX" copies included).
MAX_ZIP_ENTRIES = 4 * MAX_FILES
ZIP_TAIL_BYTES = 22 + 65535  # the end record and the longest comment after it
INVOICE_SUFFIXES = (".xml", ".p7m")


class UploadError(ValueError):
    """The upload cannot be accepted as a whole; the message says why."""


MAX_NAME = 200  # characters of a file name kept for the progress page


def file_name(path: str) -> str:
    """The name a person gave the file, without folders, at most MAX_NAME characters.

    A long name keeps its start and its extension (which says what the file is), with
    a digest of the whole stem between them: two long names that differ only at their
    end stay different, and a long XML's PDF, shortened the same way, still pairs.
    """
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) <= MAX_NAME:
        return name
    base, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10:
        base, ext = name, ""
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    suffix = f"…{digest}" + (f".{ext}" if ext else "")
    return base[: MAX_NAME - len(suffix)] + suffix


def kind_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(".pdf"):
        return "pdf"
    if lower.endswith(INVOICE_SUFFIXES):
        return "invoice"
    return None


def stem(name: str) -> str:
    """The name PDFs and invoices are matched by: no folder, no .xml/.p7m/.pdf, any case."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    for suffix in (".p7m", ".xml", ".pdf"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def upload_limits() -> dict:
    """The bulk upload's limits, from the app's config (the page shows them)."""
    config = current_app.config
    return {
        "zip_bytes": config["MAX_CONTENT_LENGTH"],
        "file_bytes": config["UPLOAD_FILE_MAX_BYTES"],
        "files": MAX_FILES,
        "expanded_bytes": config["UPLOAD_MAX_EXPANDED_BYTES"],
        "ratio": config["UPLOAD_MAX_RATIO"],
    }


def declared_size(stream) -> int:
    """What a zip's members say they expand to, from its central directory (0 when the
    file is no zip: the job reports that per file). The stream is rewound."""
    try:
        with _open_zip(stream) as archive:
            return sum(m.file_size for m in archive.infolist())
    except TooManyEntries:
        raise UploadError("too_many") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return 0
    finally:
        stream.seek(0)


def store_bounded(storage, key: str, stream, limit: int, mimetype: str, name: str) -> int:
    """Copy `stream` to storage in pieces; UploadError (and nothing stored) over `limit`."""
    size = 0
    with storage.writer(key, mimetype) as out:
        while chunk := stream.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise UploadError("too_big:" + name)
            out.write(chunk)
    return size


@dataclass
class Entry:
    """One file of an upload, known from its name and sizes before any byte is read."""

    name: str
    kind: str | None
    key: str  # the stored upload it is (or is in)
    member: int | None = None  # index in the zip's infolist; None for an uploaded file
    problem: str | None = None


class Reader:
    """Reads the files of an upload one at a time, against the per-upload budget.

    Zips are copied once to a private temporary folder (storage streams need not be
    seekable) and opened one at a time; a member is decompressed only when it is about
    to be published, and at most `allowed` bytes of it, so a lying header costs nothing.
    """

    def __init__(self, storage, folder: str, limits: dict):
        self.storage, self.folder, self.limits = storage, folder, limits
        self.expanded = 0
        self._key: str | None = None
        self._archive: zipfile.ZipFile | None = None
        self._handle: BinaryIO | None = None

    def archive(self, key: str) -> zipfile.ZipFile:
        if key != self._key or self._archive is None:  # (the two are set together)
            self.close()
            path = os.path.join(self.folder, hashlib.sha256(key.encode()).hexdigest())
            if not os.path.exists(path):
                with self.storage.open(key) as source, open(path, "wb") as copy:
                    shutil.copyfileobj(source, copy, CHUNK_BYTES)
            self._handle = open(path, "rb")  # noqa: SIM115  closed by close()
            self._key, self._archive = key, _open_zip(self._handle)
        return self._archive

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
        if self._handle is not None:
            self._handle.close()
        self._key = self._archive = self._handle = None

    def allowed(self, compressed: int) -> int:
        """The most bytes a member may expand to: UPLOAD_FILE_MAX_BYTES, and UPLOAD_MAX_RATIO
        times its compressed size (small members are never refused for their ratio)."""
        by_ratio = max(RATIO_FLOOR, self.limits["ratio"] * compressed)
        return min(self.limits["file_bytes"], by_ratio)

    def read(self, entry: Entry) -> tuple[bytes | None, str | None]:
        """(bytes, None) or (None, problem code)."""
        if entry.member is None:
            with self.storage.open(entry.key) as handle:
                return handle.read(self.limits["file_bytes"] + 1), None  # bounded when stored
        try:
            archive = self.archive(entry.key)
            info = archive.infolist()[entry.member]
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error):
            return None, "bad_zip"
        return self.read_member(archive, info)

    def read_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo):
        """(bytes, None) or (None, problem code) for one member of an open zip."""
        try:
            allowed = self.allowed(info.compress_size)
            if self.expanded + min(info.file_size, allowed) > self.limits["expanded_bytes"]:
                return None, "expanded_too_big"
            with archive.open(info) as source:
                data = source.read(allowed + 1)  # the header may lie about the size
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error):
            return None, "bad_zip"
        self.expanded += len(data)
        if len(data) > allowed:
            return None, "too_big" if len(data) > self.limits["file_bytes"] else "ratio"
        if self.expanded > self.limits["expanded_bytes"]:
            return None, "expanded_too_big"
        return data, None


def plan_entries(files: list[dict], reader: Reader) -> list[Entry]:
    """Every file of the upload, zips listed (not expanded); problems found from the names
    and the sizes the zips declare: not a known type, a zip in a zip, too big, too
    compressed, an unsupported compression method, over MAX_FILES."""
    out: list[Entry] = []
    for item in files:
        if item["kind"] != "zip":
            out.append(Entry(item["name"], item["kind"], item["key"]))
            continue
        try:
            members = list(enumerate(reader.archive(item["key"]).infolist()))
        except TooManyEntries:
            out.append(Entry(item["name"], "zip", item["key"], problem="too_many"))
            continue
        except (zipfile.BadZipFile, OSError, EOFError):
            out.append(Entry(item["name"], None, item["key"], problem="bad_zip"))
            continue
        for index, member in members:
            name = file_name(member.filename)
            if member.is_dir() or not name or name.startswith("."):
                continue
            if "__MACOSX" in member.filename:
                continue
            if len(out) >= MAX_FILES:
                out.append(Entry(name, kind_of(name), item["key"], problem="too_many"))
                break
            out.append(_entry(name, item["key"], index, member, reader))
    return out


def _entry(name: str, key: str, index: int, member: zipfile.ZipInfo, reader) -> Entry:
    kind = kind_of(name)
    entry = Entry(name, kind, key, index)
    if kind is None:
        entry.problem = "unknown_type"
    elif kind == "zip":
        entry.problem = "nested_zip"
    elif member.file_size > reader.limits["file_bytes"]:
        entry.problem = "too_big"
    elif member.file_size > reader.allowed(member.compress_size):
        entry.problem = "ratio"
    elif member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        entry.problem = "compression"  # bzip2 or LZMA expand without a bound per read
    elif member.flag_bits & 0x1:
        entry.problem = "bad_zip"  # encrypted
    return entry


def zip_files(file: BinaryIO, limits: dict) -> list[tuple[str, bytes | None, str | None]]:
    """Every file of one zip held by the caller (the API's batch), read with the bulk
    upload's bounds: [(name, bytes, None) or (name, None, problem code)]. Raises
    UploadError("too_many") when it holds more than `limits["files"]`, "bad_zip" when it
    is no zip."""
    reader = Reader(None, "", limits)
    try:
        archive = _open_zip(file)
    except TooManyEntries:
        raise UploadError("too_many") from None
    except (zipfile.BadZipFile, OSError, EOFError):
        raise UploadError("bad_zip") from None
    out: list[tuple[str, bytes | None, str | None]] = []
    with archive:
        for index, member in enumerate(archive.infolist()):
            name = file_name(member.filename)
            if member.is_dir() or not name or name.startswith(".") or "__MACOSX" in member.filename:
                continue
            if len(out) >= limits["files"]:
                raise UploadError("too_many")
            entry = _entry(name, "", index, member, reader)
            if entry.problem is not None:
                out.append((name, None, entry.problem))
                continue
            data, problem = reader.read_member(archive, member)
            out.append((name, data, problem))
    return out


class TooManyEntries(Exception):
    """The zip's directory lists more entries than an upload may hold."""


def _open_zip(file) -> zipfile.ZipFile:
    """Open a zip after checking, from its last bytes, how many entries its directory
    lists: Python builds an object per entry, so a zip of a million tiny entries would
    cost hundreds of MB before the first is looked at. Raises TooManyEntries."""
    file.seek(0, os.SEEK_END)
    size = file.tell()
    tail_start = max(0, size - ZIP_TAIL_BYTES)
    file.seek(tail_start)
    tail = file.read()
    end = tail.rfind(b"PK\x05\x06")
    if end >= 0 and len(tail) >= end + 22:
        (entries,) = struct.unpack("<H", tail[end + 10 : end + 12])
        # 0xFFFF means "see the Zip64 record": more than any upload may hold anyway.
        if entries > MAX_ZIP_ENTRIES:
            raise TooManyEntries(entries)
        # A Zip64 end record can declare any count: refuse those outright.
        if tail.rfind(b"PK\x06\x06", 0, end) >= 0:
            raise TooManyEntries(entries)
    file.seek(0)
    return zipfile.ZipFile(file)
