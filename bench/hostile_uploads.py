"""Hostile uploads: how fast a CPU-hostile XML is refused, and what /healthz feels meanwhile.

The file is a flat 9.6 MB CFDI of 2.4 million empty elements (under the size limit,
far over the element budget). Gunicorn serves the app (PostgreSQL, local storage,
outbox mail) with 4 workers of 2 threads, as the README runs it; a Biller's API key posts the
file from 4 clients at once, several rounds, while another client asks /healthz every
20 ms. Printed: each upload's status and time to the refusal, and /healthz latency at
rest and under the hostile load (target: refused within 5 s, /healthz under 100 ms).

    .venv/bin/python bench/hostile_uploads.py
    .venv/bin/python bench/hostile_uploads.py --rounds 5 --workers 4 --threads 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import PASSWORD, Database, environment, free_port, prepare  # noqa: E402

HOSTILE = (
    b'<cfdi:Comprobante xmlns:cfdi="http://www.sat.gob.mx/cfd/4" Version="4.0">'
    + b"<a/>" * 2_400_000
    + b"</cfdi:Comprobante>"
)


def poll_healthz(url: str, stop: threading.Event, out: list[float]) -> None:
    session = requests.Session()
    while not stop.is_set():
        start = time.perf_counter()
        session.get(url, timeout=30).raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
        stop.wait(0.02)


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) >= 20 else ordered[-1]
    return (
        f"{label:<34} n={len(values):4d}  median {statistics.median(values):7.1f} ms  "
        f"p95 {p95:7.1f} ms  worst {ordered[-1]:7.1f} ms"
    )


def run(database_url: str, folder: Path, workers: int, threads: int, clients: int, rounds: int):
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", str(workers), "--threads", str(threads)]
    server = subprocess.Popen(
        [*gunicorn, "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env=environment(database_url, folder),
    )
    root = f"http://127.0.0.1:{port}"
    api = f"{root}/t/bench/api/v1"
    try:
        for _ in range(100):
            try:
                requests.get(f"{root}/healthz", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        created = requests.post(f"{api}/api-keys", auth=("biller@bench.test", PASSWORD), timeout=10)
        created.raise_for_status()
        headers = {"Authorization": f"Bearer {created.json()['key']}"}

        at_rest: list[float] = []
        stop = threading.Event()
        poller = threading.Thread(target=poll_healthz, args=(f"{root}/healthz", stop, at_rest))
        poller.start()
        time.sleep(2)
        stop.set()
        poller.join()

        def upload(_: int) -> tuple[int, float, str]:
            start = time.perf_counter()
            response = requests.post(
                f"{api}/invoices",
                headers=headers,
                files={"xml": ("flood.xml", HOSTILE, "application/xml")},
                timeout=120,
            )
            error = response.json().get("error", "") if response.content else ""
            return response.status_code, time.perf_counter() - start, error

        under_load: list[float] = []
        stop = threading.Event()
        poller = threading.Thread(target=poll_healthz, args=(f"{root}/healthz", stop, under_load))
        poller.start()
        results = []
        try:
            with ThreadPoolExecutor(clients) as pool:
                for _ in range(rounds):
                    results += list(pool.map(upload, range(clients)))
        finally:
            stop.set()
            poller.join()
    finally:
        server.terminate()
        server.wait(10)

    statuses = sorted({status for status, _, _ in results})
    times = [seconds for _, seconds, _ in results]
    print(f"{len(results)} hostile uploads ({len(HOSTILE) / 1e6:.1f} MB, 2.4 M elements),")
    print(f"{clients} at once, {rounds} rounds, gunicorn {workers} workers x {threads} threads")
    print(f"  statuses: {statuses}  error codes: {sorted({e for _, _, e in results})}")
    print(
        f"  time to refusal: median {statistics.median(times):.2f} s, worst {max(times):.2f} s"
        "  (target: within 5 s)"
    )
    print("  " + summary("/healthz at rest", at_rest))
    print("  " + summary("/healthz during hostile uploads", under_load) + "  (target: < 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server URL (a database beside it is created and dropped)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per process (README)")
    parser.add_argument("--clients", type=int, default=4, help="hostile uploads at once")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with Database(args.postgres) as database, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(database.url, folder)
        run(database.url, folder, args.workers, args.threads, args.clients, args.rounds)


if __name__ == "__main__":
    main()
