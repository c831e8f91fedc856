"""Zip writer alone: the portal's StoredZipWriter against the stream-zip library.

Makes FILES member files (default 200 totalling about 1 GiB, random bytes, so like
PDFs they do not compress) in a temp folder with their size and CRC-32 recorded as at
publishing, then, each in a fresh child process and on the same bytes: (a) copies
every file into one output file, the floor; (b) writes a stored zip64 zip of them with
`saas.portal.zipwriter.StoredZipWriter`; (c) writes the same zip with
`stream_zip.stream_zip` and `NO_COMPRESSION_64(size, crc)`. Prints MB/s of each, its
ratio to the copy, its CPU seconds (steadier than wall time when the disk is busy), and
the peak Python memory (tracemalloc) and resident-memory growth of the child while it
ran. Each zip is opened with `zipfile` and every CRC checked.

    .venv/bin/python bench/zip_writer.py                       # 200 files, 1 GiB
    .venv/bin/python bench/zip_writer.py --dir /dev/shm         # the writers' own cost
    .venv/bin/python bench/zip_writer.py --files 2000 --total-mb 1024 --rounds 3
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zlib
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
CHUNK = 1 << 20
KINDS = ("copy", "zipwriter", "stream-zip")


def make_files(root: Path, count: int, total: int) -> list[tuple[str, str, int, int]]:
    """(member name, path, size, CRC-32) of `count` files of about `total` bytes."""
    folder = root / "files"
    folder.mkdir()
    members = []
    for n in range(count):
        size = total // count + (n % 7) * 4099  # not all alike, none a multiple of CHUNK
        path = folder / f"{n:05d}.pdf"
        crc = 0
        with open(path, "wb") as out:
            left = size
            while left:
                block = os.urandom(min(CHUNK, left))
                crc = zlib.crc32(block, crc)
                out.write(block)
                left -= len(block)
        members.append((f"2026-01-{n % 28 + 1:02d}_FE-{n}.pdf", str(path), size, crc))
    return members


def run_copy(members, out: str) -> None:
    with open(out, "wb") as target:
        for _name, path, _size, _crc in members:
            with open(path, "rb") as source:
                shutil.copyfileobj(source, target, CHUNK)


def run_zipwriter(members, out: str) -> None:
    from saas.portal.zipwriter import StoredZipWriter

    with open(out, "wb") as target:
        archive = StoredZipWriter(target)
        for name, path, size, crc in members:
            with open(path, "rb") as source:
                archive.add(name, size, crc, date(2026, 1, 5), source)
        archive.close()


def run_stream_zip(members, out: str, chunk_size: int) -> None:
    from stream_zip import NO_COMPRESSION_64, stream_zip

    def chunks(path):
        with open(path, "rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk

    files = (
        (name, datetime(2026, 1, 5), 0o100644, NO_COMPRESSION_64(size, crc), chunks(path))
        for name, path, size, crc in members
    )
    with open(out, "wb") as target:
        for chunk in stream_zip(files, chunk_size=chunk_size, extended_timestamps=False):
            target.write(chunk)


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(kind, members, out, chunk_size, trace, queue) -> None:
    import tracemalloc

    # Both writers imported before the baseline, as the app has them loaded.
    import stream_zip  # noqa: F401

    import saas.portal.zipwriter  # noqa: F401

    run = {
        "copy": lambda: run_copy(members, out),
        "zipwriter": lambda: run_zipwriter(members, out),
        "stream-zip": lambda: run_stream_zip(members, out, chunk_size),
    }[kind]
    if trace:
        tracemalloc.start()
    rss_before = rss_bytes()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    peak_python = tracemalloc.get_traced_memory()[1] if trace else 0
    # ru_maxrss is the process's peak: past the baseline, it grew while `run` ran.
    growth = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before, 0)
    queue.put((seconds, cpu, peak_python, growth))


def measure(kind, root: Path, members, chunk_size: int, trace: bool = False):
    # Each run starts from the same state: no earlier output, no dirty pages still being
    # written back (the kernel would throttle whichever run came second).
    out = root / "out.bin"
    out.unlink(missing_ok=True)
    os.sync()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=child, args=(kind, members, str(out), chunk_size, trace, queue))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{kind} run failed (exit code {process.exitcode})")
    return result


def check_zip(path: Path, members) -> None:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [name for name, *_ in members], "member names differ"
        bad = archive.testzip()
        assert bad is None, f"{bad}: CRC does not match"
        for name, _path, size, crc in members:
            info = archive.getinfo(name)
            assert (info.file_size, info.CRC) == (size, crc), f"{name}: size or CRC differ"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--total-mb", type=int, default=1024, help="MiB in all the files")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--dir", default="/var/tmp", help="where files and output go (/dev/shm: no disk)"
    )
    parser.add_argument(
        "--chunk-size", type=int, default=65536, help="stream-zip's output chunk (its default)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        members = make_files(root, args.files, args.total_mb << 20)
        total = sum(size for _n, _p, size, _c in members)
        measure("copy", root, members, args.chunk_size)  # warm the page cache for all
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for round_ in range(args.rounds):
            # Each kind takes each place in turn: none always runs after the same one.
            for kind in KINDS[round_ % 3 :] + KINDS[: round_ % 3]:
                seconds, cpu_seconds, *_ = measure(kind, root, members, args.chunk_size)
                times[kind].append(seconds)
                cpu[kind].append(cpu_seconds)
        # Memory in runs of their own: tracemalloc slows every allocation it counts.
        memory = {}
        for kind in KINDS:
            memory[kind] = measure(kind, root, members, args.chunk_size, trace=True)[2:]
            if kind != "copy":
                check_zip(root / "out.bin", members)
        mb = total / 1e6
        # Disk write-back makes single runs noisy: the best run of each kind is the
        # figure, the medians show the spread.
        speed = {kind: mb / min(seconds) for kind, seconds in times.items()}
        median = {kind: mb / statistics.median(seconds) for kind, seconds in times.items()}
        print(
            f"{args.files:,} files ({mb:,.0f} MB) in {args.dir}, best of {args.rounds}, "
            f"stream-zip chunk_size {args.chunk_size:,}; both zips open in zipfile, CRCs ok"
        )
        for kind in KINDS:
            python_peak, rss_growth = memory[kind]
            print(
                f"  {kind:<10} {speed[kind]:6,.0f} MB/s = {100 * speed[kind] / speed['copy']:3.0f}%"
                f" of copy (median {median[kind]:,.0f} MB/s ="
                f" {100 * median[kind] / median['copy']:.0f}%);"
                f" CPU {min(cpu[kind]):.2f} s;"
                f" peak Python memory {python_peak / 1e6:.1f} MB,"
                f" RSS growth {rss_growth / 1e6:.1f} MB"
            )


if __name__ == "__main__":
    main()
