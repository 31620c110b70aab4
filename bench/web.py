"""Web speed: each role's home page and a cost-explorer query, alone and under 20 clients.

Usage: python bench/web.py [--rows 10000000] [--months 13] [--repeats 7] [--clients 20]

Builds (once, kept in bench/.work/web-ROWS) a demo ledger of about ROWS rows, creates one
user per role, starts `costprism serve` in a child process on loopback, and measures:
- the median server time (the `Server-Timing: app;dur=` header) of each role's home page
  and of `/explorer?by=ServiceName&granularity=month`, each requested `--repeats` times;
- the client-side p95 of home pages with `--clients` concurrent clients;
- next to them, in the same run, hand-written DuckDB SQL over the ledger's Parquet files
  answering the home page's main question (monthly spend by service over 13 months).
Figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx

from common import WORK, record
from costprism.capabilities.access import add_user
from costprism.db import Database, default_url
from costprism.ledger import Ledger
from costprism.roles import ROLES

PASSWORD = "bench-password-123"
SCOPES = {"finance": ["tag:CostCenter in (CC-110, cc-110)"], "engineering": ["tag:team=payments"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests-per-client", type=int, default=10)
    args = parser.parse_args()
    home = build_ledger(args.rows, args.months)
    make_users(home)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "costprism", "serve", "--home", str(home), "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base)
        measure(args, home, base)
    finally:
        server.terminate()
        server.wait(timeout=30)


def build_ledger(rows: int, months: int) -> Path:
    from costprism.demo import DemoSpec, generate
    from costprism.ingest.pipeline import IngestOptions, ingest

    home = WORK / f"web-{rows}" / "home"
    if Ledger.at_home(home).costs.exists():
        return home
    data = WORK / f"web-{rows}" / "data"
    generate(data, DemoSpec(months=months, rows_per_month=rows // months, file_format="csv"))
    started = time.perf_counter()
    ingest([str(data / "focus")], Ledger.at_home(home), IngestOptions(source="demo"))
    print(f"ingested {rows:,} rows in {time.perf_counter() - started:.0f} s")
    return home


def make_users(home: Path) -> None:
    db = Database.open(default_url(home))
    existing = {u.username for u in _all_users(db)}
    for role in ROLES:
        if role not in existing:
            add_user(
                db,
                actor="bench",
                username=role,
                roles=[role],
                scope=SCOPES.get(role, []),
                password=PASSWORD,
            )
    db.dispose()


def _all_users(db: Database) -> list[object]:
    from costprism.capabilities.access import list_users

    return list(list_users(db, limit=1000).items)


def measure(args: argparse.Namespace, home: Path, base: str) -> None:
    clients = {role: signed_in(base, role) for role in ROLES}
    first_explorer = first_ms(clients["practitioner"], "/explorer?by=ServiceName&granularity=month")
    firsts = {role: first_ms(clients[role], f"/home?role={role}") for role in ROLES}
    homes = {role: server_ms(clients[role], f"/home?role={role}", args.repeats) for role in ROLES}
    explorer = server_ms(
        clients["practitioner"], "/explorer?by=ServiceName&granularity=month", args.repeats
    )
    p95 = concurrent_p95(base, args.clients, args.requests_per_client)
    raw = raw_sql_ms(home, args.repeats)
    rows = ledger_rows(home)
    slowest = max(homes, key=lambda r: homes[r])
    record(
        f"web on {rows:,} ledger rows (bench/web.py)",
        " ".join(["python bench/web.py", *sys.argv[1:]]),
        [
            "home page median server time per role (ms): "
            + ", ".join(f"{r} {ms:,.0f}" for r, ms in homes.items()),
            f"slowest home page: {slowest} {homes[slowest]:,.0f} ms (target < 500 ms median)",
            "first request per role after start (computed from the daily rollup, then "
            "remembered until the ledger changes) (ms): "
            + ", ".join(f"{r} {ms:,.0f}" for r, ms in firsts.items())
            + f"; median {statistics.median(firsts.values()):,.0f}",
            f"first explorer request (opens the ledger view): {first_explorer:,.0f} ms",
            f"cost explorer by ServiceName × month: median {explorer:,.0f} ms server time",
            f"{args.clients} concurrent clients × {args.requests_per_client} home pages each: "
            f"p95 {p95:,.0f} ms client time (target < 2,000 ms)",
            f"raw engine in the same run: hand-written DuckDB SQL, monthly spend by service over "
            f"the ledger's Parquet files: median {raw:,.0f} ms "
            f"(ratio slowest home page / raw: {homes[slowest] / raw:.2f})",
            f"repeats {args.repeats}",
        ],
    )
    for client in clients.values():
        client.close()


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "no CSRF token on the login page"
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code in (200, 303), response.text[:300]
    return client


def server_ms(client: httpx.Client, path: str, repeats: int) -> float:
    """Median server time of ``path`` after a first request (see :func:`first_ms`)."""
    timings = []
    for _ in range(repeats):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        timings.append(float(response.headers["server-timing"].split("dur=")[1]))
    return statistics.median(timings)


def first_ms(client: httpx.Client, path: str) -> float:
    """Server time of the first request for ``path`` in this ledger version: a home page is
    computed from the rollup then, and remembered until the ledger changes."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return float(response.headers["server-timing"].split("dur=")[1])


def concurrent_p95(base: str, clients: int, each: int) -> float:
    roles = list(ROLES)
    sessions = [signed_in(base, roles[i % len(roles)]) for i in range(clients)]

    def run(index: int) -> list[float]:
        client, role = sessions[index], roles[index % len(roles)]
        times = []
        for _ in range(each):
            started = time.perf_counter()
            assert client.get(f"/home?role={role}").status_code == 200
            times.append((time.perf_counter() - started) * 1000)
        return times

    with ThreadPoolExecutor(clients) as pool:
        latencies = sorted(t for batch in pool.map(run, range(clients)) for t in batch)
    for client in sessions:
        client.close()
    return latencies[int(len(latencies) * 0.95) - 1]


def raw_sql_ms(home: Path, repeats: int) -> float:
    files, _ = Ledger.at_home(home).costs.files()
    sql = (
        "SELECT ServiceName, BillingCurrency, date_trunc('month', ChargePeriodStart) AS period, "
        f"sum(EffectiveCost) FROM read_parquet({files!r}) GROUP BY ALL ORDER BY ALL"
    )
    timings = []
    for _ in range(repeats):
        connection = duckdb.connect()
        started = time.perf_counter()
        connection.execute(sql).fetchall()
        timings.append((time.perf_counter() - started) * 1000)
        connection.close()
    return statistics.median(timings)


def ledger_rows(home: Path) -> int:
    files, _ = Ledger.at_home(home).costs.files()
    found = duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()
    return int(found[0]) if found else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.5)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    main()
