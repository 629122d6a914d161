#!/usr/bin/env python3
"""The server load harness: reconguard against a bare HTTPS webhook on the same stack
(benches/baseline), side by side in one run, on loopback, driven by h2load.

Every throughput figure is a ratio to the baseline measured in the same round (three rounds, the
median). Then latency at fixed request rates, resident memory, start to ready, and a policy
reload plus a certificate rotation under load. `--smoke` is the seconds-long version CI runs: it
fails on errors and wrong answers, never on timing. Run through benches/load.sh, which builds.
"""

import argparse
import copy
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# benches/load.sh builds both and says where (the static build the image ships).
RECONGUARD = os.path.join(ROOT, os.environ.get("RECONGUARD_BINARY", "target/release/reconguard"))
BASELINE = os.path.join(
    ROOT, os.environ.get("BASELINE_BINARY", "target/release/baseline_webhook")
)
LAYER_HEADER = "apiVersion: reconguard.io/v1alpha1\nkind: Policy\n"

# Targets on the 2-core machine (issue 11). Printed next to each figure; never an exit status.
TARGET_RATIO = 0.9
TARGET_P99_MS, TARGET_P999_MS, TARGET_MAX_MS = 1.0, 2.0, 10.0
TARGET_IDLE_MIB, TARGET_PEAK_MIB, TARGET_READY_MS = 32, 64, 200


class HarnessError(Exception):
    pass


def corpus(name):
    with open(os.path.join(ROOT, "tests/corpus", name)) as f:
        return json.load(f)


def bodies():
    """The five bodies: name -> (review, whether the answer allows it)."""
    clean = corpus("exec-connect.json")
    annotated = corpus("exec-netstat.json")
    denied = corpus("exec-nmap-wrapped.json")
    pod = corpus("pod-create.json")
    spec = pod["request"]["object"]["spec"]
    # A Deployment-generated pod as the API server sends it, about 4 KiB compact: environment,
    # resources and probes of a typical web container.
    container = spec["containers"][0]
    container.setdefault("env", []).extend(
        {"name": f"APP_SETTING_{i}", "value": f"value-{i}-of-a-typical-configuration"}
        for i in range(12)
    )
    while len(json.dumps(pod, separators=(",", ":"))) < 4096:
        container["env"].append({"name": f"EXTRA_{len(container['env'])}", "value": "x" * 24})
    update = copy.deepcopy(pod)
    request = update["request"]
    request["operation"] = "UPDATE"
    request["uid"] = "uid-pod-update"
    request["oldObject"] = copy.deepcopy(request["object"])
    request["object"]["metadata"].setdefault("labels", {})["rollout"] = "2"
    return {
        "exec-clean": (clean, True),
        "exec-annotated": (annotated, True),
        "exec-denied": (denied, False),
        "pod-create": (pod, True),
        "pod-update": (update, True),
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project(volume, generation, files):
    """Lays out files as the kubelet does for a Secret or ConfigMap volume (a `..data` swap)."""
    versioned = os.path.join(volume, f"..gen{generation}")
    os.makedirs(versioned)
    for name, text in files.items():
        with open(os.path.join(versioned, name), "w") as f:
            f.write(text)
    tmp = os.path.join(volume, "..data_tmp")
    os.symlink(f"..gen{generation}", tmp)
    os.replace(tmp, os.path.join(volume, "..data"))
    for name in files:
        link = os.path.join(volume, name)
        if not os.path.lexists(link):
            os.symlink(f"..data/{name}", link)


def certificates(out):
    subprocess.run(
        [RECONGUARD, "certs", "--service", "localhost", "--namespace", "default", "--out", out],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    files = {}
    for name in ("tls.crt", "tls.key"):
        with open(os.path.join(out, name)) as f:
            files[name] = f.read()
    return files


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise HarnessError(f"no {field} for {pid}")


def https_get(port, path, timeout=0.2):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with context.wrap_socket(raw) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    return data


def https_post(port, body):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    payload = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw) as s:
            s.sendall(
                b"POST /validate HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode()
                + b"\r\n\r\n"
                + payload
            )
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    if b"transfer-encoding: chunked" in head.lower():
        body, rest = b"", rest
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            body += rest[:size]
            rest = rest[size + 2 :]
        rest = body
    return status, json.loads(rest)


class Server:
    """A server process: started, waited for until ready, stopped."""

    def __init__(self, name, argv, port, log, ready_path):
        self.name, self.argv, self.port, self.log = name, argv, port, log
        self.ready_path = ready_path
        self.process = None

    def start(self):
        started = time.monotonic()
        # As the image runs it (Containerfile).
        env = dict(os.environ, MIMALLOC_ARENA_EAGER_COMMIT="0")
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"), env=env
        )
        deadline = started + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"{self.name} exited: see {self.log}")
            try:
                if b" 200 " in https_get(self.port, self.ready_path).split(b"\r\n")[0] + b" ":
                    return (time.monotonic() - started) * 1000
            except OSError:
                pass
            time.sleep(0.001)
        raise HarnessError(f"{self.name} not ready within 10 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def h2load(port, body_file, requests, h1, extra=()):
    argv = ["h2load", "-n", str(requests), "-d", body_file, "-H", "content-type: application/json"]
    argv += ["--h1", "-c", "16", "-m", "1"] if h1 else ["-c", "8", "-m", "8"]
    argv += list(extra) + [f"https://127.0.0.1:{port}/validate"]
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    done = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    rate = re.search(r"finished in [^,]+, ([\d.]+) req/s", out)
    if not (done and codes and rate):
        raise HarnessError(f"unreadable h2load output:\n{out}")
    total, _, ok, failed, errored, timeouts = map(int, done.groups())
    two_xx = int(codes.group(1))
    if failed or errored or timeouts or two_xx != requests:
        raise HarnessError(
            f"h2load against port {port} ({body_file}): {two_xx} of {requests} answered 2xx, "
            f"{failed} failed, {errored} errored, {timeouts} timed out\n{out}"
        )
    return float(rate.group(1))


def percentiles(log_file):
    durations = []
    with open(log_file) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) >= 3:
                if parts[1] != "200":
                    raise HarnessError(f"status {parts[1]} in {log_file}")
                durations.append(int(parts[2]) / 1000.0)
    if not durations:
        raise HarnessError(f"no requests logged in {log_file}")
    durations.sort()

    def at(q):
        return durations[min(len(durations) - 1, int(q * len(durations)))]

    return {"n": len(durations), "p50": at(0.5), "p99": at(0.99), "p999": at(0.999), "max": durations[-1]}


def verdict(ok):
    return "met" if ok else "MISSED"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="seconds long; fails on errors, never on timing")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40000, help="per throughput run")
    parser.add_argument("--rate-seconds", type=int, default=10, help="per fixed-rate run")
    parser.add_argument("--soak", type=int, default=0, help="seconds of a soak at 2,000 req/s, sampling memory")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.requests, args.rate_seconds = 1, 400, 1

    work = tempfile.mkdtemp(prefix="reconguard-load-")
    servers = []
    failures = []
    try:
        tls_volume = os.path.join(work, "tls")
        policy_volume = os.path.join(work, "policy")
        os.makedirs(tls_volume)
        os.makedirs(policy_volume)
        project(tls_volume, 1, certificates(os.path.join(work, "gen1")))
        project(policy_volume, 1, {"10-site.yaml": LAYER_HEADER})
        body_files = {}
        expected = {}
        for name, (review, allowed) in bodies().items():
            path = os.path.join(work, f"{name}.json")
            with open(path, "w") as f:
                json.dump(review, f, separators=(",", ":"))
            body_files[name] = path
            expected[name] = (review, allowed)

        base_port, rg_port, metrics_port = free_port(), free_port(), free_port()
        baseline = Server(
            "baseline",
            [BASELINE, f"127.0.0.1:{base_port}", f"{tls_volume}/tls.crt", f"{tls_volume}/tls.key"],
            base_port,
            os.path.join(work, "baseline.log"),
            "/healthz",
        )
        reconguard = Server(
            "reconguard",
            [
                RECONGUARD, "serve", "--listen", f"127.0.0.1:{rg_port}",
                "--metrics-listen", f"127.0.0.1:{metrics_port}",
                "--tls-cert", f"{tls_volume}/tls.crt", "--tls-key", f"{tls_volume}/tls.key",
                "--policy", policy_volume, "--reload-interval", "1",
                "--decision-log", os.path.join(work, "decisions.jsonl"),
                "--shutdown-delay", "0",
            ],
            rg_port,
            os.path.join(work, "reconguard.log"),
            "/readyz",
        )
        servers = [baseline, reconguard]

        print(f"bodies: " + ", ".join(f"{n} {os.path.getsize(p)} B" for n, p in body_files.items()))
        starts = []
        for _ in range(3):
            starts.append(reconguard.start())
            reconguard.stop()
        ready_ms = statistics.median(starts)
        reconguard.start()
        baseline.start()
        idle_mib = rss_kib(reconguard.process.pid) / 1024

        # Every body answered as expected, by both servers.
        for name, (review, allowed) in expected.items():
            for server in servers:
                status, answer = https_post(server.port, review)
                response = answer.get("response", {})
                if status != 200 or response.get("uid") != review["request"]["uid"]:
                    raise HarnessError(f"{server.name} answered {status} {answer} to {name}")
                if server is reconguard and response.get("allowed") != allowed:
                    raise HarnessError(f"reconguard allowed={response.get('allowed')} on {name}")

        # Throughput, alternating servers within each round.
        ratios = {}
        rates = {}
        for _ in range(args.rounds):
            for h1 in (False, True):
                proto = "http/1.1" if h1 else "h2"
                for name, path in body_files.items():
                    base = h2load(base_port, path, args.requests, h1)
                    ours = h2load(rg_port, path, args.requests, h1)
                    ratios.setdefault((name, proto), []).append(ours / base)
                    rates.setdefault((name, proto), []).append((base, ours))
        peak_mib = rss_kib(reconguard.process.pid, "VmHWM") / 1024

        print(f"\nthroughput, {args.rounds} round(s), {args.requests} requests per run, "
              "h2: 8 connections x 8 streams, http/1.1: 16 connections")
        print(f"{'body':<16}{'protocol':<10}{'baseline req/s':>16}{'reconguard req/s':>18}{'ratio':>8}  target {TARGET_RATIO}x")
        for (name, proto), values in ratios.items():
            ratio = statistics.median(values)
            base = statistics.median(b for b, _ in rates[(name, proto)])
            ours = statistics.median(o for _, o in rates[(name, proto)])
            ok = ratio >= TARGET_RATIO
            if not ok:
                failures.append(f"throughput {name} {proto}")
            print(f"{name:<16}{proto:<10}{base:>16.0f}{ours:>18.0f}{ratio:>8.2f}  {verdict(ok)}")

        # Latency at fixed rates (h2, 8 connections, one stream each, requests spread evenly).
        print(f"\nlatency at fixed rates, h2, {args.rate_seconds} s per run, milliseconds "
              f"(targets: p99 < {TARGET_P99_MS}, p99.9 < {TARGET_P999_MS}, max < {TARGET_MAX_MS})")
        print(f"{'rate':>6}  {'body':<16}{'server':<12}{'p50':>7}{'p99':>7}{'p99.9':>7}{'max':>7}")
        for rate in (1000, 5000):
            for name, path in body_files.items():
                for server in servers:
                    log = os.path.join(work, f"latency-{server.name}-{rate}-{name}.tsv")
                    n = rate * args.rate_seconds
                    h2load(server.port, path, n, False, ["-c", "8", "-m", "1", "--rps", str(rate // 8), "--log-file", log])
                    p = percentiles(log)
                    line = f"{rate:>6}  {name:<16}{server.name:<12}{p['p50']:>7.2f}{p['p99']:>7.2f}{p['p999']:>7.2f}{p['max']:>7.2f}"
                    if server is reconguard:
                        ok = p["p99"] < TARGET_P99_MS and p["p999"] < TARGET_P999_MS and p["max"] < TARGET_MAX_MS
                        if not ok:
                            failures.append(f"latency {name} at {rate}/s")
                        line += f"  {verdict(ok)}"
                    print(line)

        # A policy reload and a certificate rotation while requests flow: none may fail.
        result = {}

        def steady_load():
            try:
                result["rate"] = h2load(rg_port, body_files["exec-denied"], 2000 * max(4, args.rate_seconds // 2), False,
                                        ["-c", "8", "-m", "1", "--rps", "250"])
            except HarnessError as e:
                result["error"] = str(e)

        loader = threading.Thread(target=steady_load)
        loader.start()
        time.sleep(0.5)
        project(policy_volume, 2, {"10-site.yaml": LAYER_HEADER + "rules:\n  exec-kubectl: {action: deny}\n"})
        time.sleep(0.5)
        project(tls_volume, 2, certificates(os.path.join(work, "gen2")))
        loader.join()
        # Both swaps happened at least 3 s before the load ended; the counters say when they
        # were picked up (a loaded machine may be slow to report, never to serve).
        deadline = time.monotonic() + 10
        while True:
            metrics = https_get_plain(metrics_port, "/metrics")
            reloads = counter(metrics, 'reconguard_policy_reloads_total{result="success"}')
            rotations = counter(metrics, 'reconguard_tls_reloads_total{result="success"}')
            if (reloads >= 1 and rotations >= 1) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        reload_ok = "error" not in result and reloads >= 1 and rotations >= 1
        print(f"\npolicy reload and certificate rotation under 2,000 req/s: "
              f"{'no request failed' if 'error' not in result else result['error']}; "
              f"reloads {reloads:.0f}, rotations {rotations:.0f}")
        if not reload_ok:
            raise HarnessError("a reload or rotation under load failed requests or did not happen")

        soak = ""
        if args.soak:
            samples = []
            done = threading.Event()

            def sample():
                while not done.wait(5):
                    samples.append(rss_kib(reconguard.process.pid) / 1024)

            sampler = threading.Thread(target=sample)
            sampler.start()
            h2load(rg_port, body_files["exec-annotated"], 2000 * args.soak, False, ["-c", "8", "-m", "1", "--rps", "250"])
            done.set()
            sampler.join()
            soak = (f"; soak {args.soak} s at 2,000 req/s: RSS first {samples[0]:.1f}, "
                    f"last {samples[-1]:.1f}, max {max(samples):.1f} MiB")
        peak_mib = max(peak_mib, rss_kib(reconguard.process.pid, "VmHWM") / 1024)
        print(f"\nmemory: idle {idle_mib:.1f} MiB ({verdict(idle_mib < TARGET_IDLE_MIB)}, target < {TARGET_IDLE_MIB}), "
              f"peak {peak_mib:.1f} MiB ({verdict(peak_mib < TARGET_PEAK_MIB)}, target < {TARGET_PEAK_MIB}){soak}")
        print(f"start to ready: {ready_ms:.0f} ms, median of 3 ({verdict(ready_ms < TARGET_READY_MS)}, target < {TARGET_READY_MS})")
        if idle_mib >= TARGET_IDLE_MIB:
            failures.append("idle memory")
        if peak_mib >= TARGET_PEAK_MIB:
            failures.append("peak memory")
        if ready_ms >= TARGET_READY_MS:
            failures.append("start to ready")
        print("\ntargets missed: " + (", ".join(failures) if failures else "none"))
        if args.smoke:
            print("smoke: every request answered 200 with the expected verdict (timing not judged)")
        return 0
    except HarnessError as e:
        print(f"load harness: {e}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def https_get_plain(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.decode(errors="replace")


def counter(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
