"""Sources: where a case comes from, plugins as converters are.

A source turns a spec into its source artifact and the reference reading(s) every leg is
compared with: ``keras`` builds the drawn layer or model in Keras and calls it; ``onnx``
builds the drawn ONNX graph and reads it with onnxruntime (optimisations off) beside onnx's
reference evaluator; ``mat`` writes the drawn MATLAB network as a ``.mat`` file and reads
it with the NumPy model of MATLAB's semantics; ``file`` reads a user's own model file
(``parity check``) and sends it down the paths of the format it reads to. Everything downstream (legs, comparison,
results, report, golden store, repro, known issues) is shared.

A source from another package registers itself under the entry-point group
``parity.sources``::

    [project.entry-points."parity.sources"]
    mysource = "mypkg.parity_source:MySource"

A path names its source first: ``keras>tf2onnx>onnx2torch``, ``onnx>onnx2torch``.

The source protocol and registry live in ``harness.core.source_registry`` (re-exported here).
"""

from __future__ import annotations

from harness.core.source_registry import (  # noqa: F401  (re-exported)
    BUILTIN,
    ENTRY_POINT_GROUP,
    Source,
    SourceError,
    SourceReading,
    SourceRefusal,
    UnknownSource,
    available,
    get,
    is_source,
    register,
    source_failure_message,
    unregister,
)
