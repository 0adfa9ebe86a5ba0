"""parity: a conformance suite and numerical parity harness for model converters."""

import os

__version__ = "0.1.0"

# onnxruntime 1.29 and later send usage telemetry from every process that imports them on
# Linux and macOS, and write a device id and an event store under ~/.cache/Microsoft and a
# session file in the temporary folder (1.30 a mat-debug-PID.log there too). parity reads
# users' models and runs offline, so it opts out, before anything imports onnxruntime, for
# itself and the processes it starts, unless the user has set the variable (docs/options.md).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
