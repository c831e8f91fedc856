"""Pending-downloads zip: throughput against a plain copy of the same files, and memory.

Makes COUNT invoices (about 100 KB PDF + 20 KB XML each) in local storage, then in a
fresh child process each: (a) copies every file into one output file, (b) builds the
portal's zip with `write_zip`. Prints MB/s of each, the ratio, and the child's peak
resident memory, for each COUNT.

    .venv/bin/python bench/pending_zip.py               # 1,000 and 10,000 invoices
    .venv/bin/python bench/pending_zip.py --counts 1000
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
from datetime import date, timedelta
from pathlib import Path

# Run as a script from anywhere: the project's own package first.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PDF_BYTES, XML_BYTES = 100_000, 20_000


def make_files(root: Path, count: int) -> list[dict]:
    from saas.storage import LocalStorage, tenant_key

    storage = LocalStorage(str(root))
    xml_line = b"<cac:InvoiceLine><cbc:ID>%d</cbc:ID><cbc:Note>Producto de ejemplo</cbc:Note>"
    invoices = []
    for n in range(count):
        pdf_key = tenant_key(1, "invoices", f"{n:06d}", "invoice.pdf")
        xml_key = tenant_key(1, "invoices", f"{n:06d}", "invoice.xml")
        pdf = b"%PDF-1.7\n" + os.urandom(PDF_BYTES - 9)
        xml = b"".join(xml_line % i + b"</cac:InvoiceLine>\n" for i in range(400))[:XML_BYTES]
        storage.put(pdf_key, pdf, "application/pdf")
        storage.put(xml_key, xml, "application/xml")
        invoices.append(
            {
                "id": n,
                "number": f"FE-{n}",
                "pdf_key": pdf_key,
                "xml_key": xml_key,
                # Recorded at publishing, as the Invoice row holds them.
                "pdf_size": len(pdf),
                "pdf_crc32": zlib.crc32(pdf),
                "xml_size": len(xml),
                "xml_crc32": zlib.crc32(xml),
                "issue_date": date(2026, 1, 1) + timedelta(days=n % 300),
            }
        )
    return invoices


def run_copy(root: str, invoices: list[dict], out: str) -> tuple[float, int]:
    from saas.storage import LocalStorage

    storage = LocalStorage(root)
    t0 = time.perf_counter()
    size = 0
    with open(out, "wb") as target:
        for inv in invoices:
            for key in (inv["xml_key"], inv["pdf_key"]):
                with storage.open(key) as source:
                    shutil.copyfileobj(source, target, 1 << 20)
                    size += source.tell()
    return time.perf_counter() - t0, size


def run_zip(root: str, invoices: list[dict], _out: str) -> tuple[float, int]:
    from types import SimpleNamespace

    from saas import create_app
    from saas.portal.exports import write_zip

    app = create_app(
        {
            "STORAGE_URL": f"file://{root}",
            "DATABASE_URL": "sqlite://",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": f"{root}/instance",
            "REDIS_URL": None,
        }
    )
    # Rows made one at a time, as the export job streams them from the database.
    rows = (SimpleNamespace(**inv) for inv in invoices)
    with app.app_context():
        t0 = time.perf_counter()
        write_zip("tenants/1/exports/bench.zip", rows)
        return time.perf_counter() - t0, len(invoices) * (PDF_BYTES + XML_BYTES)


def child(kind: str, root: str, invoices: list[dict], out: str, queue) -> None:
    seconds, size = (run_copy if kind == "copy" else run_zip)(root, invoices, out)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, size, peak_kb))


def measure(kind: str, root: Path, invoices: list[dict]) -> tuple[float, int, int]:
    # Each run starts from the same state: no earlier output, no dirty pages still being
    # written back (the kernel would throttle whichever run came second).
    (root / "copy.bin").unlink(missing_ok=True)
    shutil.rmtree(root / "tenants" / "1" / "exports", ignore_errors=True)
    os.sync()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(
        target=child, args=(kind, str(root), invoices, str(root / "copy.bin"), queue)
    )
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"{kind} run failed (exit code {process.exitcode})")
    return queue.get()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for count in args.counts:
        with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
            root = Path(tmp)
            invoices = make_files(root, count)
            measure("copy", root, invoices)  # warm the page cache for both
            best, times = {}, {"copy": [], "zip": []}
            for _ in range(args.rounds):
                for kind in ("copy", "zip"):
                    seconds, size, peak = measure(kind, root, invoices)
                    times[kind].append(seconds)
                    if kind not in best or seconds < best[kind][0]:
                        best[kind] = (seconds, size, peak)
            mb = best["copy"][1] / 1e6
            copy_speed = mb / best["copy"][0]
            zip_speed = mb / best["zip"][0]
            # Disk write-back makes single runs noisy here: the best run of each kind is
            # the figure, the medians show the spread.
            median = {k: statistics.median(v) for k, v in times.items()}
            print(
                f"{count:,} invoices ({mb:,.0f} MB): copy {copy_speed:,.0f} MB/s, "
                f"zip {zip_speed:,.0f} MB/s = {100 * zip_speed / copy_speed:.0f}% of copy "
                f"(medians: {100 * median['copy'] / median['zip']:.0f}%); "
                f"peak memory copy {best['copy'][2] / 1024:.0f} MB, "
                f"zip {best['zip'][2] / 1024:.0f} MB"
            )


if __name__ == "__main__":
    main()
