"""The README's Python example: submit an asset to Assay with pika and wait for its verdict.

Usage: submit_pika.py ASSET [PREFIX [PUBLISHER]]   (prints the verdict; exit 3 when pika is missing)
"""
import hashlib
import json
import os
import sys
import uuid

try:
    import pika
except ImportError as err:  # the Rust test decides whether that is a skip or a failure
    print(f"pika is not installed: {err}", file=sys.stderr)
    sys.exit(3)

asset = os.path.abspath(sys.argv[1])
prefix = sys.argv[2] if len(sys.argv) > 2 else "assay"
publisher = sys.argv[3] if len(sys.argv) > 3 else "acme"  # must be the asset contract's publisher
data = open(asset, "rb").read()
name, version = os.path.basename(asset).removesuffix(".crate").rsplit("-", 1)
submission = {
    "schema": "assay.submission/v1",
    "submission_id": str(uuid.uuid4()),
    "asset": {"name": name, "version": version, "publisher": publisher},
    "archive": {"uri": "file://" + asset, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)},
    "listing": f"https://marketplace.example/listings/{name}",
    "rules": "default",
}

connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
channel = connection.channel()
# Listen for reports before submitting, so a fast worker's report is not missed.
replies = channel.queue_declare(queue="", exclusive=True).method.queue
channel.queue_bind(queue=replies, exchange=f"{prefix}.reports", routing_key="report.#")
channel.confirm_delivery()
channel.basic_publish(
    exchange="",
    routing_key=f"{prefix}.submissions",
    body=json.dumps(submission),
    properties=pika.BasicProperties(message_id=submission["submission_id"], delivery_mode=2,
                                    content_type="application/json"),
    mandatory=True,
)
for method, properties, body in channel.consume(replies, inactivity_timeout=60):
    if method is None:
        sys.exit("no report within 60 s")
    channel.basic_ack(method.delivery_tag)
    if (properties.headers or {}).get("submission_id") == submission["submission_id"]:
        print(properties.headers["verdict"])  # body: the signed envelopes of report.dsse.json
        break
connection.close()
