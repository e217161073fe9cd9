"""Generators the test worker is configured with (CAMPAIGN_GENERATORS={"*": "tests.generators:dispatch"}).

The default offline generator runs unless the step's params ask for the no-op one (`"noop": true`, which
also honours `sleep_s`, `fail` and `salt`), so one real worker serves every integration test.
"""

from __future__ import annotations

from pipeline.generators import DEFAULT_GENERATORS
from pipeline.noop import noop
from pipeline.param_models import with_test_params
from pipeline.steps import GeneratedOutput, StepInputs


def dispatch(inputs: StepInputs) -> list[GeneratedOutput]:
    if inputs.params.get("noop") or inputs.params.get("fail") or inputs.params.get("sleep_s"):
        return noop(inputs)
    return DEFAULT_GENERATORS[inputs.step_id](inputs)


dispatch.params_model = with_test_params  # type: ignore[attr-defined]
