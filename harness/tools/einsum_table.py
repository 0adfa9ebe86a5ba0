"""Merges the einsum choices that runs with ``PARITY_EINSUM_RECORD`` set recorded into
``harness/converters/tf2onnx_einsum.json`` (``harness.converters.tf2onnx_einsum``).

    PARITY_EINSUM_RECORD=/tmp/einsum.jsonl pytest suites/ -n 2 --hypothesis-profile ci \\
        -k "Attention" -p no:cacheprovider
    python -m harness.tools.einsum_table /tmp/einsum.jsonl

Only choices searched under this process' fingerprint (tf2onnx's files, numpy's and onnx's
versions) are kept; a table made under another fingerprint is started again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.converters import tf2onnx_einsum


def merge(records: list[Path], table_path: Path = tf2onnx_einsum.TABLE) -> dict:
    """The table with every choice of ``records`` searched under this fingerprint."""
    current = tf2onnx_einsum.fingerprint()
    table = tf2onnx_einsum.read_table(table_path)
    kept = table["choices"] if table["fingerprint"] == current else []
    choices = {(c["equation"], c["opset"], c["decompose"]): c for c in kept}
    for path in records:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.pop("fingerprint") == current:
                choices[(record["equation"], record["opset"], record["decompose"])] = record
    return {"schema": tf2onnx_einsum.SCHEMA, "fingerprint": current,
            "choices": [choices[key] for key in sorted(choices)]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path, help="files PARITY_EINSUM_RECORD named")
    parser.add_argument("--table", type=Path, default=tf2onnx_einsum.TABLE)
    args = parser.parse_args(argv)
    before = len(tf2onnx_einsum.read_table(args.table)["choices"])
    table = merge(args.records, args.table)
    args.table.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{args.table}: {len(table['choices'])} choices ({before} before)")


if __name__ == "__main__":
    main()
