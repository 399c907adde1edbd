#!/usr/bin/env python3
"""How quickly a page answers while a big project's figures are being computed.

Starts `tally serve` on DATABASE_URL (a database the pages bench kept, say
TALLY_BENCH_PG_DB=NAME), asks for project 1's overview, report and health pages once each
(their figures then compute in the background), and asks for the project's settings page
every 10 ms for 5 s meanwhile. Prints the three first views and the settings page's median,
99th percentile and worst. The database's stored report inputs are deleted first, so the
report is read whole as after a fresh start.

    TALLY_BENCH_PG_DB=tallybench cargo bench --bench pages   # seeds and keeps it
    scripts/pages_under_figures.py target/release/tally \\
        postgres://postgres@127.0.0.1:5432/tallybench bench-admin

Standard library only; `psql` (or `sqlite3` for a sqlite:// URL) deletes the inputs.
"""

import http.client
import subprocess
import sys
import time

PORT = 18932
PAGES = ["/admin/projects/1", "/admin/projects/1/report", "/admin/projects/1/health"]


def delete_stored_inputs(url):
    if url.startswith("sqlite://"):
        subprocess.run(["sqlite3", url[len("sqlite://"):], "DELETE FROM report_inputs"], check=True)
    else:
        subprocess.run(["psql", url, "-qc", "DELETE FROM report_inputs"], check=True)


def wait_until_up():
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("the server did not come up")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    binary, url, admin = sys.argv[1:]
    delete_stored_inputs(url)
    token = subprocess.run(
        [binary, "tokens", "--database-url", url, "issue", admin],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    server = subprocess.Popen(
        [binary, "serve", "--database-url", url, "--bind", f"127.0.0.1:{PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up()
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}

        def ms(path):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                sys.exit(f"{path}: {response.status}")
            return (time.perf_counter() - started) * 1000

        for _ in range(20):
            ms("/admin")
        firsts = [(path, ms(path)) for path in PAGES]
        times = []
        until = time.time() + 5
        while time.time() < until:
            times.append(ms("/admin/projects/1/settings"))
            time.sleep(0.01)
        times.sort()
        print("first views: " + ", ".join(f"{path} {t:.0f} ms" for path, t in firsts))
        print(
            f"settings page while the figures compute: {len(times)} answers in 5 s, "
            f"median {times[len(times) // 2]:.1f} ms, 99th percentile "
            f"{times[int(len(times) * 0.99)]:.1f} ms, worst {times[-1]:.1f} ms"
        )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
