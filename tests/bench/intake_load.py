#!/usr/bin/env python3
"""Open-loop load generator for ticketsyncd's intake API (POST /v1/events).

Python 3 standard library only: asyncio, raw HTTP/1.1 over keep-alive
connections (TCP with a bearer token, or the admin unix socket).

Pacing is open-loop: request i is *scheduled* at t0 + i / rate, whatever the
answers do. A scheduler puts each request on a shared queue at its scheduled
time; N connections take requests from the queue, each sending one request and
reading its answer before taking the next (no pipelining). When every
connection is busy, due requests wait in the queue.

Answer time (the figure the percentiles are of) = time the whole answer was
read - the request's SCHEDULED send time. It therefore includes any wait for a
free connection and any lateness of the scheduler or of this process's event
loop, so a stall of the daemon shows up in every request scheduled during it
(no coordinated omission). The split is reported as well:
  wait    = actual send - scheduled time (queueing in this client)
  service = answer read - actual send  (the daemon's turnaround, as seen here)

Each request carries one distinct schema-v1 event (its own issue_id), so every
202 must become one issue in the daemon's store; --accepted-out writes the
issue_ids that got 202 for the driver (intake_load.sh) to check.

Exit status: 0 when every request got 202 (or 503 with --allow-503) and p99 <
--p99-ms; 1 otherwise; 2 on usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass
class result:
    index: int
    scheduled: float  # perf_counter seconds
    sent: float = math.nan
    answered: float = math.nan
    status: int = 0  # 0 = no HTTP answer (see error)
    error: str = ""
    retry_after: str = ""
    body: bytes = b""


@dataclass
class target:
    host: str = ""
    port: int = 0
    path: str = "/v1/events"
    unix: str = ""


@dataclass
class proc_sampler:
    """Samples /proc/PID of the daemon: RSS, VmHWM and CPU time."""

    pid: int
    clk_tck: int = field(default_factory=lambda: os.sysconf("SC_CLK_TCK"))
    samples: list = field(default_factory=list)  # (t, rss_kib, hwm_kib, cpu_s)

    def read(self):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                status = f.read()
            with open(f"/proc/{self.pid}/stat") as f:
                stat = f.read()
        except OSError:
            return None
        rss = hwm = 0
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
        fields = stat[stat.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state): utime is field 14, stime field 15.
        cpu = (int(fields[11]) + int(fields[12])) / self.clk_tck
        return rss, hwm, cpu

    def sample(self, t):
        s = self.read()
        if s:
            try:
                with open("/proc/loadavg") as f:
                    load1 = float(f.read().split()[0])
            except OSError:
                load1 = math.nan
            self.samples.append((t, *s, load1))


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Open-loop load on POST /v1/events: one distinct event per request at a fixed rate.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--rate", type=float, default=500.0, help="requests per second (scheduled, open loop)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the schedule")
    p.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--url", help="http://HOST:PORT[/v1/events] (TCP; needs --token-file)")
    g.add_argument("--unix", metavar="PATH", help="the admin unix socket")
    p.add_argument("--token-file", help="file holding the bearer token (admin.token)")
    p.add_argument("--tenant", default="loadtest", help="tenant of every event")
    p.add_argument("--source", default="loadgen", help="source of every event")
    p.add_argument("--run-id", default=None, help="prefix of the issue_ids (default: a time-based id)")
    p.add_argument("--p99-ms", type=float, default=20.0, help="target: p99 answer time below this")
    p.add_argument("--allow-503", action="store_true", help="a 503 (backpressure) does not fail the run")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for one answer")
    p.add_argument("--drain-timeout", type=float, default=60.0,
                   help="seconds to wait after the schedule ends for outstanding answers")
    p.add_argument("--warmup", type=int, default=0,
                   help="requests sent (and checked) before the measured schedule, not in the figures")
    p.add_argument("--daemon-pid", type=int, help="sample this process's RSS and CPU during the run")
    p.add_argument("--json-out", metavar="FILE", help="write the figures (and per-second series) as JSON")
    p.add_argument("--accepted-out", metavar="FILE", help="write the issue_id of every 202, one per line")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    a = p.parse_args(argv)
    if a.rate <= 0 or a.seconds <= 0 or a.connections < 1:
        p.error("--rate, --seconds must be > 0 and --connections >= 1")
    return a


def parse_target(a) -> target:
    if a.unix:
        return target(unix=a.unix, host="localhost")
    u = urllib.parse.urlsplit(a.url)
    if u.scheme != "http" or not u.hostname:
        raise SystemExit(f"intake_load: --url must be http://HOST:PORT[/path], got {a.url!r}")
    return target(host=u.hostname, port=u.port or 80, path=u.path if u.path not in ("", "/") else "/v1/events")


def event_body(a, run_id: str, i: int) -> bytes:
    now = time.time()
    ms = int((now % 1) * 1000)
    updated_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{ms:03d}Z"
    ev = {
        "source": a.source,
        "tenant": a.tenant,
        "issue_id": f"{run_id}-{i:07d}",
        "state": "open",
        "severity": SEVERITIES[i % len(SEVERITIES)],
        "title": f"Load test event {i} of run {run_id}",
        "updated_at": updated_at,
        "description": "intake_load.py: one distinct event per request",
    }
    return json.dumps(ev, separators=(",", ":")).encode()


class connection:
    def __init__(self, tgt: target, auth: bytes, timeout: float):
        self.tgt = tgt
        self.auth = auth
        self.timeout = timeout
        self.reader = None
        self.writer = None
        self.opened = 0

    async def open(self):
        if self.tgt.unix:
            self.reader, self.writer = await asyncio.open_unix_connection(self.tgt.unix)
        else:
            self.reader, self.writer = await asyncio.open_connection(self.tgt.host, self.tgt.port)
        self.opened += 1

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, body: bytes):
        """Sends one POST and reads the answer: (status, headers dict, body). Raises on transport errors."""
        if self.writer is None:
            await self.open()
        head = (
            f"POST {self.tgt.path} HTTP/1.1\r\nHost: {self.tgt.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        ).encode() + self.auth + b"\r\n"
        self.writer.write(head + body)
        status_line = await self.reader.readuntil(b"\r\n\r\n")
        lines = status_line.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        payload = await self.reader.readexactly(n) if n else b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, payload


def percentile(sorted_values, q):
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    if not sorted_values:
        return math.nan
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


async def run(a, tgt: target, auth: bytes, run_id: str):
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    results: list[result] = []
    conns = [connection(tgt, auth, a.timeout) for _ in range(a.connections)]
    done_scheduling = asyncio.Event()
    sampler = proc_sampler(a.daemon_pid) if a.daemon_pid else None

    # Open every connection before the clock starts (connection set-up is not
    # what is measured; a reconnect during the run is, in its request's time).
    await asyncio.gather(*(c.open() for c in conns))

    async def worker(c: connection):
        while True:
            item = await queue.get()
            if item is None:
                return
            r, body = item
            r.sent = time.perf_counter()
            try:
                status, headers, payload = await asyncio.wait_for(c.request(body), a.timeout)
                r.status = status
                r.retry_after = headers.get("retry-after", "")
                if status != 202:
                    r.body = payload[:300]
            except asyncio.TimeoutError:
                r.error = "timeout"
                c.close()
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                r.error = f"{type(e).__name__}: {e}"
                c.close()
            r.answered = time.perf_counter()

    # Warm-up: sequential requests on each connection, not measured.
    warm_failures = 0
    for i in range(a.warmup):
        c = conns[i % len(conns)]
        try:
            status, _, payload = await c.request(event_body(a, run_id + "w", i))
            if status != 202:
                warm_failures += 1
                print(f"warm-up request {i}: HTTP {status} {payload[:200]!r}", file=sys.stderr)
        except Exception as e:  # noqa: BLE001 - reported, then the run goes on
            warm_failures += 1
            print(f"warm-up request {i}: {e}", file=sys.stderr)
            c.close()

    workers = [asyncio.create_task(worker(c)) for c in conns]
    total = int(round(a.rate * a.seconds))
    period = 1.0 / a.rate
    gc.collect()
    gc.disable()  # a full collection over the result list would pause this process mid-run
    t0 = time.perf_counter() + 0.05
    cpu0 = sampler.read() if sampler else None
    wall0 = time.time()

    async def scheduler():
        i = 0
        next_progress = 5.0
        next_sample = 0.0
        while i < total:
            now = time.perf_counter()
            # Enqueue everything due (catch up after a late wake-up: the lateness
            # counts in those requests' answer times).
            while i < total and t0 + i * period <= now:
                r = result(index=i, scheduled=t0 + i * period)
                results.append(r)
                queue.put_nowait((r, event_body(a, run_id, i)))
                i += 1
            elapsed = now - t0
            if sampler and elapsed >= next_sample:
                sampler.sample(elapsed)
                next_sample += 1.0
            if not a.quiet and elapsed >= next_progress:
                answered = sum(1 for r in results if not math.isnan(r.answered))
                print(f"  t={elapsed:5.1f}s scheduled={i} answered={answered} queued={queue.qsize()}",
                      file=sys.stderr, flush=True)
                next_progress += 5.0
            if i < total:
                await asyncio.sleep(max(0.0, t0 + i * period - time.perf_counter()))
        done_scheduling.set()

    await scheduler()
    # Let the workers finish what is queued and in flight, then stop them.
    drain_deadline = time.perf_counter() + a.drain_timeout + a.timeout
    for _ in workers:
        queue.put_nowait(None)
    pending = set(workers)
    while pending and time.perf_counter() < drain_deadline:
        _, pending = await asyncio.wait(pending, timeout=1.0)
        if sampler:
            sampler.sample(time.perf_counter() - t0)
    for w in pending:
        w.cancel()
    t_end = time.perf_counter()
    cpu1 = sampler.read() if sampler else None
    gc.enable()
    for c in conns:
        c.close()
    return results, t0, t_end, wall0, sampler, cpu0, cpu1, warm_failures, sum(c.opened for c in conns) - len(conns)


def summarize(a, run_id, results, t0, t_end, wall0, sampler, cpu0, cpu1, warm_failures, reconnects):
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    lat, wait, service = [], [], []
    last_answer = t0
    first_sched = results[0].scheduled if results else t0
    last_sched = results[-1].scheduled if results else t0
    bodies: dict[str, str] = {}
    for r in results:
        if math.isnan(r.answered):
            key = "no answer (drain timeout)"
        elif r.status:
            key = str(r.status)
        else:
            key = "error"
            errors[r.error] = errors.get(r.error, 0) + 1
        statuses[key] = statuses.get(key, 0) + 1
        if r.status and r.status != 202 and key not in bodies:
            bodies[key] = r.body.decode("utf-8", "replace").strip()
        if not math.isnan(r.answered):
            last_answer = max(last_answer, r.answered)
            lat.append((r.answered - r.scheduled) * 1000)
            if not math.isnan(r.sent):
                wait.append((r.sent - r.scheduled) * 1000)
                service.append((r.answered - r.sent) * 1000)
    lat_sorted, wait_sorted, service_sorted = sorted(lat), sorted(wait), sorted(service)

    def pct(vals):
        return {
            "p50": percentile(vals, 50), "p90": percentile(vals, 90), "p99": percentile(vals, 99),
            "p99.9": percentile(vals, 99.9), "max": vals[-1] if vals else math.nan,
            "mean": (sum(vals) / len(vals)) if vals else math.nan,
        }

    # Per second of the schedule: requests scheduled, their worst and p99 answer time.
    per_second = []
    nsec = int(math.ceil(a.seconds))
    buckets = [[] for _ in range(nsec + 1)]
    for r in results:
        if not math.isnan(r.answered):
            buckets[min(nsec, int(r.scheduled - t0))].append((r.answered - r.scheduled) * 1000)
    for s, vals in enumerate(buckets):
        if vals:
            vals.sort()
            per_second.append({"second": s, "requests": len(vals), "p99_ms": round(percentile(vals, 99), 3),
                               "max_ms": round(vals[-1], 3)})

    n = len(results)
    accepted = statuses.get("202", 0)
    sched_span = (last_sched - first_sched) + (1.0 / a.rate) if n else 0
    out = {
        "run_id": run_id,
        "target": {"url": a.url, "unix": a.unix},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall0)),
        # t0 (the first scheduled send) on CLOCK_MONOTONIC (perf_counter on Linux), in seconds:
        # lines up with `perf trace -T` timestamps (ms on the same clock).
        "t0_monotonic": t0,
        "rate_target": a.rate,
        "seconds_target": a.seconds,
        "connections": a.connections,
        "requests": n,
        "rate_scheduled": n / sched_span if sched_span else 0,
        # Answers per second over the window from the first scheduled send to the last answer.
        "rate_answered": (n - statuses.get("no answer (drain timeout)", 0)) / (last_answer - t0) if n else 0,
        "rate_accepted": accepted / (last_answer - t0) if n else 0,
        "window_s": last_answer - t0,
        "statuses": statuses,
        "errors": errors,
        "non_202_bodies": bodies,
        "reconnects": reconnects,
        "warmup_failures": warm_failures,
        "latency_ms": pct(lat_sorted),
        "wait_ms": pct(wait_sorted),
        "service_ms": pct(service_sorted),
        "over_target": sum(1 for v in lat if v >= a.p99_ms),
        "p99_target_ms": a.p99_ms,
        "per_second": per_second,
    }
    if sampler and cpu0 and cpu1:
        window = t_end - t0
        out["daemon"] = {
            "pid": a.daemon_pid,
            "cpu_s": cpu1[2] - cpu0[2],
            "cpu_percent": 100.0 * (cpu1[2] - cpu0[2]) / window if window > 0 else math.nan,
            "window_s": window,
            "vmrss_kib_max": max((s[1] for s in sampler.samples), default=cpu1[0]),
            "vmrss_kib_end": cpu1[0],
            "vmhwm_kib": cpu1[1],
            "loadavg1_min": min((s[4] for s in sampler.samples), default=math.nan),
            "loadavg1_max": max((s[4] for s in sampler.samples), default=math.nan),
            "samples": [{"t": round(s[0], 1), "rss_kib": s[1], "hwm_kib": s[2], "cpu_s": s[3], "load1": s[4]}
                        for s in sampler.samples],
        }
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["client_cpu_s"] = ru.ru_utime + ru.ru_stime  # this process, warm-up and set-up included
    try:
        out["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    except OSError:
        pass
    return out


def report(out, a):
    L, W, S = out["latency_ms"], out["wait_ms"], out["service_ms"]
    p = print
    p(f"intake_load: {out['requests']} requests of one event each, scheduled at {out['rate_target']:g}/s "
      f"for {out['seconds_target']:g} s over {out['connections']} keep-alive connections "
      f"({'unix ' + out['target']['unix'] if out['target']['unix'] else out['target']['url']})")
    p(f"  rate: scheduled {out['rate_scheduled']:.1f}/s, answered {out['rate_answered']:.1f}/s, "
      f"202 {out['rate_accepted']:.1f}/s (window {out['window_s']:.2f} s from the first scheduled send "
      f"to the last answer)")
    p("  statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(out["statuses"].items())))
    for k, v in out["non_202_bodies"].items():
        p(f"    first {k} body: {v}")
    if out["errors"]:
        p("  errors: " + "; ".join(f"{k} ×{v}" for k, v in out["errors"].items()))
    p(f"  reconnects during the run: {out['reconnects']}")

    def row(name, d):
        return (f"  {name:<44} p50 {d['p50']:7.2f}  p90 {d['p90']:7.2f}  p99 {d['p99']:7.2f}  "
                f"p99.9 {d['p99.9']:7.2f}  max {d['max']:8.2f}  mean {d['mean']:7.2f}")

    p("  times in ms:")
    p(row("answer (answer read - scheduled send)", L))
    p(row("  wait (actual send - scheduled send)", W))
    p(row("  service (answer read - actual send)", S))
    p(f"  answers at or over {a.p99_ms:g} ms: {out['over_target']} "
      f"({100.0 * out['over_target'] / max(1, out['requests']):.2f} %)")
    worst = sorted(out["per_second"], key=lambda s: -s["max_ms"])[:5]
    if worst:
        p("  worst seconds (second: p99/max ms): " +
          ", ".join(f"{s['second']}: {s['p99_ms']:.1f}/{s['max_ms']:.1f}" for s in worst))
    d = out.get("daemon")
    if d:
        p(f"  daemon pid {d['pid']}: CPU {d['cpu_s']:.2f} s over {d['window_s']:.1f} s = {d['cpu_percent']:.1f} % "
          f"of one core; VmRSS max {d['vmrss_kib_max'] / 1024:.1f} MiB, VmHWM {d['vmhwm_kib'] / 1024:.1f} MiB")
        p(f"  1-min load average during the run: {d['loadavg1_min']:.2f} .. {d['loadavg1_max']:.2f}")
    p(f"  load generator CPU (this process): {out['client_cpu_s']:.2f} s")
    if "loadavg_end" in out:
        p(f"  load average at the end: {' '.join(out['loadavg_end'])}")


def main(argv=None):
    a = parse_args(argv if argv is not None else sys.argv[1:])
    tgt = parse_target(a)
    auth = b""
    if a.token_file:
        with open(a.token_file, "rb") as f:
            token = f.read().rstrip(b"\r\n")
        auth = b"Authorization: Bearer " + token + b"\r\n"
    elif not tgt.unix:
        print("intake_load: warning: TCP without --token-file: expect 401", file=sys.stderr)
    run_id = a.run_id or time.strftime("lt%Y%m%d%H%M%S", time.gmtime()) + f"-{os.getpid()}"
    results, t0, t_end, wall0, sampler, cpu0, cpu1, warm_failures, reconnects = asyncio.run(
        run(a, tgt, auth, run_id))
    out = summarize(a, run_id, results, t0, t_end, wall0, sampler, cpu0, cpu1, warm_failures, reconnects)
    report(out, a)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(out, f, indent=1)
    if a.accepted_out:
        with open(a.accepted_out, "w") as f:
            for r in results:
                if r.status == 202:
                    f.write(f"{run_id}-{r.index:07d}\n")

    ok_statuses = {"202"} | ({"503"} if a.allow_503 else set())
    failed = [k for k in out["statuses"] if k not in ok_statuses]
    verdict_ok = True
    if failed or warm_failures:
        print(f"FAIL: requests without a 202{' or 503' if a.allow_503 else ''}: "
              + ", ".join(f"{k} ×{out['statuses'][k]}" for k in failed)
              + (f" (and {warm_failures} failed warm-up requests)" if warm_failures else ""))
        verdict_ok = False
    p99 = out["latency_ms"]["p99"]
    if not (p99 < a.p99_ms):
        print(f"FAIL: p99 answer time {p99:.2f} ms is not under {a.p99_ms:g} ms")
        verdict_ok = False
    if verdict_ok:
        print(f"PASS: every request answered 202{' or 503' if a.allow_503 else ''}, p99 {p99:.2f} ms < {a.p99_ms:g} ms")
    return 0 if verdict_ok else 1


if __name__ == "__main__":
    sys.exit(main())
