"""Real architectures: ``keras.applications`` models with seeded random weights (batch-norm
statistics calibrated so that every activation stays O(1)), down every conversion path.

One fixed case per architecture, its simplest configuration (the architecture's minimum
input size, no classifier head, seed 0), so that the same case runs on every machine; every
leg is compared with Keras. All are ``slow`` except the cheapest, which the CI gate runs.
"""

import pytest

from harness.sources.keras.kinds import applications  # registers the family

from ..installed import require

require("tensorflow", reason="the application suite builds its models in Keras")

# Cheap enough for the CI gate (build, tf2onnx and onnx2torch well under 20 s on one core).
FAST = frozenset({"MobileNetV2"})

CASES = [
    pytest.param(app.name, id=app.name,
                 marks=() if app.name in FAST else (pytest.mark.slow,))
    for app in applications.APPLICATIONS
]


@pytest.mark.parametrize("name", CASES)
def test_application(name, parity):
    parity.check(applications.default_spec(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", [app.name for app in applications.APPLICATIONS])
def test_application_with_classifier(name, parity):
    """The stock head too: global pooling, a 10-class Dense and its softmax."""
    parity.check(applications.default_spec(name, include_top=True))


@pytest.mark.slow
def test_the_yardstick_catches_a_converter_that_perturbs_weights():
    """Without a hand-set tolerance, a deep architecture is judged by the float64 yardstick
    (Keras' own rounding, measured): a converter that moves every weight by 1% of its scale
    still fails, far beyond K times Keras' own error."""
    from harness import converters
    from harness.core import yardstick
    from harness.run.pipeline import Harness
    fakes = pytest.importorskip("tests.fakes", reason="parity's own test helpers (tests/) come with its repository, not its wheel")
    Fake, perturbed_weights = fakes.Fake, fakes.perturbed_weights

    converters.register(Fake("tf2onnx-perturbed", "tf2onnx", after=perturbed_weights))
    try:
        case = Harness("keras>tf2onnx-perturbed,keras>tf2onnx", known_issues=[],
                       diagnose=False).run(applications.default_spec("MobileNetV2"))
    finally:
        converters.unregister("tf2onnx-perturbed")
    legs = {leg.leg: leg for leg in case.legs}
    broken, sound = legs["keras>tf2onnx-perturbed"], legs["keras>tf2onnx"]
    assert broken.verdict == "fail"
    assert broken.metrics["yardstick"]["ratio"] > 10 * yardstick.K
    assert sound.verdict == "pass"
    assert sound.metrics["yardstick"]["ratio"] <= yardstick.K
