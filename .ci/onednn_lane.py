"""The part of the suites the second oneDNN lane runs (.ci/run), as pytest arguments.

TensorFlow runs its CPU kernels through oneDNN by default only on CPUs with AVX-512; without
it, Eigen refuses channels_first (NCHW, NCDHW) convolutions and rounds differently. The main
job runs under this machine's default; the lane runs under the other setting every test
whose source can compute through a channels_first kernel or whose judgement rests on which
kernels the source ran:

- every Keras layer kind whose strategy draws ``data_format='channels_first'`` (read from the
  registry, so a new kind joins by itself), and the drawn models that nest them;
- the saved formats (``.keras``, ``.h5``, SavedModel: TensorFlow's own NCHW kernels run the
  SavedModel leg) and the Keras-2 paths (tf_keras runs its own kernels);
- the ci profile's architecture, judged by the float64 yardstick.

Prints ``--other`` (the TF_ENABLE_ONEDNN_OPTS value the lane sets: 0 where oneDNN is on by
default here, else 1) or the pytest arguments.
"""

import sys

from harness.core.frameworks import prepare_imports

prepare_imports()

from harness.core import registry  # noqa: E402
from harness.runtimes.keras import onednn_enabled  # noqa: E402
from harness.sources.keras import kinds  # noqa: E402, F401  (registers every kind)

MODELS = ("Functional", "Sequential")


def arguments() -> list[str]:
    drawn = [kind.name for kind in registry.kinds("keras")
             if "channels_first" in repr(kind.domains)]
    layers = [f"suites/layers/test_layers.py::test_layer[{name}]" for name in (*drawn, *MODELS)]
    return [*layers, "suites/saved", "suites/keras2", "suites/applications"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--other"]:
        print(0 if onednn_enabled() else 1)
    else:
        print("\n".join(arguments()))
