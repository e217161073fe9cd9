"""The generator `real_run` configures its worker with: the offline generators, or no-op ones per step.

A step whose params say `"noop": true` gets pipeline.noop's smallest valid file; any other runs the default
offline generator. One worker thus runs both kinds of run, so their CPU is measured on the same processes.
"""

from __future__ import annotations

from pipeline.generators import DEFAULT_GENERATORS
from pipeline.noop import noop
from pipeline.param_models import with_test_params
from pipeline.steps import GeneratedOutput, StepInputs

PATH = "benchmarks.switch:generate"


def generate(inputs: StepInputs) -> list[GeneratedOutput]:
    if inputs.params.get("noop"):
        return noop(inputs)
    return DEFAULT_GENERATORS[inputs.step_id](inputs)


generate.params_model = with_test_params  # type: ignore[attr-defined]  # the default params plus `noop`
