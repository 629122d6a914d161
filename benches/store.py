#!/usr/bin/env python3
"""The shared correlation store's cost: reconguard without and with `--correlation-store` (a
Redis on loopback), side by side in one run, driven by h2load, and the store's memory per
identity at the caps. Run through benches/store.sh, which builds.

1. Latency of a judged exec review (`netstat -tuln`: a counted discovery technique, so every
   request runs correlation and, with the store, one script call) at a fixed rate, p50 and p99,
   alternating the two servers for three rounds (medians).
2. Throughput of the same review, saturating (8 connections x 8 streams), alternating likewise.
3. Redis memory: 10 000 identities, each at the caps (every technique the default policy counts,
   with its longest rule name, and the 16 most recent fingerprints), written by the script
   `serve` runs (src/server/observe.lua); INFO used_memory before and after, and MEMORY USAGE
   of one key.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (the load harness's server, h2load and percentile helpers)

ROOT = load.ROOT
SCRIPT = os.path.join(ROOT, "src/server/observe.lua")


class Resp:
    """A minimal RESP client: enough for EVAL, INFO and MEMORY USAGE, pipelined."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise load.HarnessError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data.decode()
        if kind == b"*":
            return [self._read() for _ in range(int(rest))]
        raise load.HarnessError(f"redis: unexpected {line!r}")

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self.encode(*c) for c in commands))
        return [self._read() for _ in commands]

    def call(self, *args):
        return self.pipeline([args])[0]


def counted_techniques():
    """(technique, longest rule name raising it) for every technique the default policy counts."""
    import yaml

    text = subprocess.run([load.RECONGUARD, "policy", "default"], capture_output=True, text=True, check=True).stdout
    policy = yaml.safe_load(text)
    tactics = set(policy["correlation"]["tactics"])
    counted = sorted(t for t, v in policy["techniques"].items() if v["tactic"] in tactics)
    names = {}
    for section in ("rules", "exec", "connect", "pod"):
        entries = policy.get(section) or {}
        if isinstance(entries, dict):
            for name, rule in entries.items():
                if isinstance(rule, dict) and rule.get("technique") in counted:
                    if len(name) > len(names.get(rule["technique"], "")):
                        names[rule["technique"]] = name
    return [(t, names.get(t, "exec-" + t.lower())) for t in counted], policy["correlation"]


def dataset_bytes(client):
    stats = client.call("MEMORY", "STATS")
    return int(stats[stats.index("dataset.bytes") + 1])


def metric(port, series):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--rate-seconds", type=int, default=10)
    parser.add_argument("--identities", type=int, default=10000)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="reconguard-store-")
    redis_port = load.free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    servers = []
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                Resp(redis_port).call("PING")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        files = load.certificates(work)
        version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2].removeprefix("v=")
        common = ["serve", "--tls-cert", os.path.join(work, "tls.crt"), "--tls-key", os.path.join(work, "tls.key"),
                  "--decision-log", "/dev/null", "--shutdown-delay", "0"]
        for name, extra in (("no store", []),
                            ("store", ["--correlation-store", f"redis://127.0.0.1:{redis_port}/0"])):
            port, metrics_port = load.free_port(), load.free_port()
            argv = [load.RECONGUARD] + common + ["--listen", f"127.0.0.1:{port}",
                                                 "--metrics-listen", f"127.0.0.1:{metrics_port}"] + extra
            server = load.Server(name, argv, port, os.path.join(work, f"{port}.log"), "/readyz")
            server.start()
            server.metrics_port = metrics_port
            servers.append(server)
        shared = 'reconguard_correlation_store_mode{mode="shared"}'
        deadline = time.monotonic() + 10
        while metric(servers[1].metrics_port, shared) != 1.0:
            if time.monotonic() > deadline:
                raise load.HarnessError("the store replica never reached mode shared")
            time.sleep(0.05)
        review = load.corpus("exec-netstat.json")
        body = os.path.join(work, "exec.json")
        with open(body, "w") as f:
            json.dump(review, f)
        for s in servers:
            status, answer = load.https_post(s.port, review)
            rules = answer["response"].get("auditAnnotations", {}).get("rules", "")
            if status != 200 or not rules:
                raise load.HarnessError(f"{s.name}: unexpected answer {answer}")

        print(f"reconguard {load.RECONGUARD}; redis-server {version} on loopback; {os.cpu_count()} CPUs")
        print(f"body: tests/corpus/exec-netstat.json (rules {rules}); one identity, so after the first "
              "request each is the same command within the duplicate window: read, prune and write in the script")
        latency = {s.name: {"p50": [], "p99": []} for s in servers}
        throughput = {s.name: [] for s in servers}
        n = args.rate * args.rate_seconds
        for r in range(args.rounds):
            for s in servers:
                log = os.path.join(work, f"lat-{s.port}-{r}.log")
                load.h2load(s.port, body, n, False, ["-c", "8", "-m", "1", "--rps", str(args.rate // 8), "--log-file", log])
                p = load.percentiles(log)
                latency[s.name]["p50"].append(p["p50"])
                latency[s.name]["p99"].append(p["p99"])
            for s in servers:
                throughput[s.name].append(load.h2load(s.port, body, args.requests, False))
        stats = Resp(redis_port).call("INFO", "commandstats")
        evalsha = next((line for line in stats.splitlines() if line.startswith("cmdstat_evalsha:")), "")
        script_usec = evalsha.split("usec_per_call=")[1].split(",")[0] if "usec_per_call=" in evalsha else "?"
        errors = metric(servers[1].metrics_port, 'reconguard_correlation_store_errors_total{reason="timeout"}')
        errors += metric(servers[1].metrics_port, 'reconguard_correlation_store_errors_total{reason="connection"}')
        print(f"\nlatency at {args.rate} req/s for {args.rate_seconds} s, ms (median of {args.rounds} rounds):")
        print(f"{'server':<10}{'p50':>8}{'p99':>8}")
        for name, v in latency.items():
            print(f"{name:<10}{statistics.median(v['p50']):>8.3f}{statistics.median(v['p99']):>8.3f}")
        added50 = statistics.median(latency["store"]["p50"]) - statistics.median(latency["no store"]["p50"])
        added99 = statistics.median(latency["store"]["p99"]) - statistics.median(latency["no store"]["p99"])
        print(f"added by the store: p50 {added50:+.3f} ms, p99 {added99:+.3f} ms")
        print(f"\nthroughput, {args.requests} requests, 8 connections x 8 streams, req/s (rounds: median):")
        for name, v in throughput.items():
            print(f"{name:<10}{statistics.median(v):>10.0f}   {', '.join(f'{x:.0f}' for x in v)}")
        ratio = statistics.median(throughput["store"]) / statistics.median(throughput["no store"])
        print(f"store / no store: {ratio:.2f}; store timeouts and connection errors during the run: {errors:.0f}")
        print(f"Redis CPU per script call (INFO commandstats, evalsha usec_per_call): {script_usec} µs")

        # Memory per identity at the caps, through the script serve runs.
        techniques, correlation = counted_techniques()
        with open(SCRIPT) as f:
            script = f.read()
        redis_client = Resp(redis_port)
        redis_client.call("FLUSHALL")
        sha = redis_client.call("SCRIPT", "LOAD", script)
        before = dataset_bytes(redis_client)
        window_ms = int(correlation["windowSeconds"]) * 1000
        duplicate_ms = int(correlation["duplicateSeconds"]) * 1000
        flat = [x for pair in techniques for x in pair]
        for start in range(0, args.identities, 500):
            commands = []
            for i in range(start, min(start + 500, args.identities)):
                key = "reconguard/reconguard:id:" + f"{i:032x}"
                for k in range(16):
                    fingerprint = f"{i:016x}{k:016x}"
                    commands.append(["EVALSHA", sha, 1, key, window_ms, duplicate_ms,
                                     correlation["distinctTechniques"], 16, len(techniques), fingerprint] + flat)
            replies = redis_client.pipeline(commands)
            if any(r[0] not in ("burst", "counted") for r in replies):
                raise load.HarnessError(f"unexpected script replies: {replies[:3]}")
        after = dataset_bytes(redis_client)
        keys = redis_client.call("DBSIZE")
        one = redis_client.call("MEMORY", "USAGE", "reconguard/reconguard:id:" + f"{0:032x}", "SAMPLES", "0")
        value = redis_client.call("STRLEN", "reconguard/reconguard:id:" + f"{0:032x}")
        print(f"\nRedis memory at the caps: {keys} identities, each {len(techniques)} techniques "
              f"({', '.join(t for t, _ in techniques)}) and 16 fingerprints")
        print(f"dataset: {(after - before) / keys:.0f} bytes per identity; MEMORY USAGE of one key: {one} bytes "
              f"(value {value} bytes); {(after - before) / 2**20:.1f} MiB for {keys}")
    finally:
        for s in servers:
            s.stop()
        redis.terminate()
        redis.wait(timeout=10)


if __name__ == "__main__":
    main()
