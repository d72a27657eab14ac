"""Drives Assay workers through RabbitMQ and measures them (used by bench/worker.sh).

Usage: [RATE=N] worker_load.py PREFIX ARCHIVE COUNT [RSS_PIDS...]
Publishes COUNT submissions of ARCHIVE as fast as confirms allow (or RATE per second, for latency below
saturation), collects every report from an exclusive queue bound to PREFIX.reports, and prints JSON:
sustained submissions/s (first publish to the last report's timeVerified) and submit-to-report latency
percentiles (publish → the report's timeVerified, its signing time). With worker PIDs, also samples their VmRSS (KiB) every 1000 reports.
"""
import base64
import datetime
import hashlib
import json
import os
import sys
import time
import uuid

import pika

prefix, archive, count = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3])
pids = sys.argv[4:]
rate = float(os.environ.get("RATE", "0"))
data = open(archive, "rb").read()
digest = hashlib.sha256(data).hexdigest()
name, version = os.path.basename(archive).removesuffix(".crate").rsplit("-", 1)

connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, heartbeat=0))
channel = connection.channel()
replies = channel.queue_declare(queue="", exclusive=True).method.queue
channel.queue_bind(queue=replies, exchange=f"{prefix}.reports", routing_key="report.#")
channel.confirm_delivery()


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


sent = {}
start = time.monotonic()
started = time.time()
for i in range(count):
    submission_id = str(uuid.uuid4())
    body = json.dumps({
        "schema": "assay.submission/v1", "submission_id": submission_id,
        "asset": {"name": name, "version": version, "publisher": "bench"},
        "archive": {"uri": "file://" + archive, "sha256": digest, "size": len(data)},
        "rules": "default",
    })
    if rate:
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
    sent[submission_id] = time.time()
    channel.basic_publish(exchange="", routing_key=f"{prefix}.submissions", body=body,
                          properties=pika.BasicProperties(delivery_mode=2), mandatory=True)

latencies, samples, seen, last = [], [], set(), 0.0
def report_time(body):
    """When the worker finished: the VSA's timeVerified (the report is published right after). Read from
    the message because this client only drains its reply queue once it has published everything."""
    statement = json.loads(base64.b64decode(json.loads(body)[0]["payload"]))
    return datetime.datetime.fromisoformat(statement["predicate"]["timeVerified"].replace("Z", "+00:00")).timestamp()


for method, properties, body in channel.consume(replies, inactivity_timeout=120, auto_ack=True):
    if method is None:
        sys.exit(f"stalled after {len(seen)} of {count} reports")
    submission_id = (properties.headers or {}).get("submission_id")
    if submission_id in sent and submission_id not in seen:
        seen.add(submission_id)
        finished = report_time(body)
        last = max(last, finished)
        latencies.append(finished - sent[submission_id])
        if pids and len(seen) % 1000 == 0:
            samples.append({"reports": len(seen), "rss_kib": [rss(pid) for pid in pids]})
    if len(seen) == count:
        break
# Sustained rate: first publish to the last report's completion.
elapsed = max(last - started, 1e-9)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
print(json.dumps({"submissions": count, "seconds": round(elapsed, 2), "per_second": round(count / elapsed, 1),
                  "latency_ms": {"p50": round(pick(0.50), 1), "p99": round(pick(0.99), 1)}, "rss": samples}))
connection.close()
