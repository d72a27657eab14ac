"""Independent check of Assay's SBOMs: cyclonedx-python-lib's strict JSON validator for CycloneDX 1.5.

Usage: validate_sbom.py FILE...  Exit 0 when every file validates, 1 otherwise, 3 when the library is missing.
"""
import sys

try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError as err:  # reported by the Rust test, which decides whether that is a skip or a failure
    print(f"cyclonedx-python-lib is not installed: {err}", file=sys.stderr)
    sys.exit(3)

validator = JsonStrictValidator(SchemaVersion.V1_5)
failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        error = validator.validate_str(handle.read())
    if error is not None:
        print(f"{path}: {error}", file=sys.stderr)
        failed = True
print(f"validated {len(sys.argv) - 1} SBOM(s)")
sys.exit(1 if failed else 0)
