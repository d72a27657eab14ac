"""Independent check of Assay's signatures: securesystemslib's DSSE Envelope.verify.

Usage: verify_dsse.py REPORT_DSSE_JSON PUBLIC_KEY_PEM
Exit 0 when every envelope verifies under the key, 1 otherwise, 3 when the libraries are missing.
"""
import json
import sys

try:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey
except ImportError as err:  # the Rust test decides whether that is a skip or a failure
    print(f"securesystemslib/cryptography not installed: {err}", file=sys.stderr)
    sys.exit(3)

with open(sys.argv[1], encoding="utf-8") as handle:
    envelopes = json.load(handle)
with open(sys.argv[2], "rb") as handle:
    public_key = load_pem_public_key(handle.read())

for raw in envelopes:
    # DSSE key ids are hints: securesystemslib matches on them, so the key carries the id Assay wrote.
    # (Read it first: from_dict consumes the dict.)
    key = SSlibKey.from_crypto(public_key, keyid=raw["signatures"][0]["keyid"])
    envelope = Envelope.from_dict(raw)
    envelope.verify([key], 1)  # raises VerificationError when the signature does not verify
print(f"verified {len(envelopes)} envelope(s)")
