"""The runner of ``keras`` artifacts: the model called eagerly (``harness.runtimes.keras``);
the runner registry names it by ``"harness.sources.keras.runner:KerasRunner"``."""

from __future__ import annotations

from harness.runtimes.keras import run_keras


class KerasRunner:
    name = "keras"

    def __init__(self, device: str = "cpu", threads: int = 0):
        self.device = device

    def run(self, artifact, inputs):
        return run_keras(artifact.model, inputs)
