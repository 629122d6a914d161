#!/usr/bin/env python3
"""`reconguard replay` on a generated audit log: events per second and peak resident memory.

The log is written as the API server's log backend writes one (JSON lines), in the mix a busy
cluster logs at the levels the README's audit policy asks for: mostly reads and lease updates at
Metadata level (not admission requests), execs and port-forwards at Metadata (judged from the
URI), pod and Deployment creates at RequestResponse with their objects (about 4 KB each), with
RequestReceived and ResponseStarted stages as well. Run through benches/replay.sh, which builds.

  benches/replay.py [--megabytes 1024] [--binary target/release/reconguard]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pod(name, ns):
    env = [{"name": f"SETTING_{i}", "value": "a-value-of-moderate-length"} for i in range(12)]
    return {
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "web", "pod-template-hash": "7d9f8"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8",
                                          "uid": "8c800470-d85f-11e8-88b6-080027728ac4", "controller": True}]},
        "spec": {"serviceAccountName": "web", "containers": [{
            "name": "web", "image": "registry.example/shop/web:1.4.2", "env": env,
            "ports": [{"containerPort": 8080}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
            "livenessProbe": {"exec": {"command": ["sh", "-c", "wget -q -O- http://localhost:8080/healthz"]}},
        }]},
    }


def events(i):
    """The events of request number `i` (one or several stages)."""
    ns = f"team-{i % 40}"
    base = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": f"a-{i:012d}",
        "user": {"username": f"user-{i % 500}@example.org", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.5"],
        "requestReceivedTimestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_790_000_000 + i // 50)) + ".000000Z",
        "responseStatus": {"metadata": {}, "code": 200},
    }
    kind = i % 100
    if kind < 70:  # reads and lease updates
        e = dict(base, level="Metadata", stage="ResponseComplete", verb="get" if kind < 60 else "update",
                 requestURI=f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/l-{i % 97}",
                 objectRef={"resource": "leases", "namespace": ns, "name": f"l-{i % 97}",
                            "apiGroup": "coordination.k8s.io", "apiVersion": "v1"})
        return [e]
    if kind < 85:  # execs, three stages
        cmd = [["ls", "-l", "/srv"], ["sh", "-c", "cat /app/config.yaml | grep -v secret"],
               ["ps", "aux"], ["sh", "-c", "timeout 60 nmap -sT -p 1-1024 10.96.0.0/24"]][i % 4]
        query = "&".join(f"command={c.replace(' ', '+').replace('/', '%2F')}" for c in cmd)
        e = dict(base, level="Metadata", verb="create",
                 requestURI=f"/api/v1/namespaces/{ns}/pods/web-{i % 9}/exec?{query}&container=web&stdout=true&stderr=true",
                 objectRef={"resource": "pods", "namespace": ns, "name": f"web-{i % 9}", "apiVersion": "v1",
                            "subresource": "exec"},
                 responseStatus={"metadata": {}, "code": 101})
        return [dict(e, stage=s) for s in ("RequestReceived", "ResponseStarted", "ResponseComplete")]
    if kind < 88:  # port-forwards
        e = dict(base, level="Metadata", stage="ResponseComplete", verb="create",
                 requestURI=f"/api/v1/namespaces/{ns}/pods/web-{i % 9}/portforward",
                 objectRef={"resource": "pods", "namespace": ns, "name": f"web-{i % 9}", "apiVersion": "v1",
                            "subresource": "portforward"})
        return [e]
    # pod creates with the object, request and response
    p = pod(f"web-7d9f8-{i:06d}", ns)
    e = dict(base, level="RequestResponse", stage="ResponseComplete", verb="create",
             requestURI=f"/api/v1/namespaces/{ns}/pods",
             user={"username": "system:serviceaccount:kube-system:replicaset-controller",
                   "groups": ["system:serviceaccounts", "system:authenticated"]},
             objectRef={"resource": "pods", "namespace": ns, "apiVersion": "v1"},
             requestObject=p, responseObject=p, responseStatus={"metadata": {}, "code": 201})
    return [dict(e, stage="RequestReceived"), e]


def write_log(path, megabytes):
    limit = megabytes << 20
    written = count = i = 0
    with open(path, "w") as f:
        while written < limit:
            for e in events(i):
                line = json.dumps(e, separators=(",", ":")) + "\n"
                f.write(line)
                written += len(line)
                count += 1
            i += 1
    return written, count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/reconguard"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        log = os.path.join(work, "audit.log")
        size, count = write_log(log, args.megabytes)
        out = os.path.join(work, "out.jsonl")
        started = time.monotonic()
        with open(out, "w") as stdout, open(os.devnull, "w") as devnull:
            child = subprocess.Popen([args.binary, "replay", "--format", "json", log], stdout=stdout, stderr=devnull)
            # This child's own peak: RUSAGE_CHILDREN would also count what ran before (the build).
            _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        code = child.returncode = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            sys.exit(f"replay failed with status {code}")
        with open(out, "rb") as f:
            f.seek(max(0, os.path.getsize(out) - (1 << 20)))
            summary = json.loads(f.read().decode().strip().splitlines()[-1])["summary"]
        peak_mib = usage.ru_maxrss / 1024
    if summary["events"] != count:
        sys.exit(f"read {summary['events']} events of {count}")
    print(f"log: {size / (1 << 20):.0f} MiB, {count} events ({summary['judged']} judged, "
          f"{summary['denied']['requests']} denied, {summary['not_admitted']} not admission requests)")
    print(f"replay: {seconds:.1f} s, {count / seconds:,.0f} events/s, {size / (1 << 20) / seconds:.1f} MiB/s, "
          f"peak RSS {peak_mib:.1f} MiB")


if __name__ == "__main__":
    main()
