"""What the executor makes of a generator that raises or returns nothing."""

from __future__ import annotations

import pytest

from context.models import CampaignContext
from context.service import CampaignContextService
from pipeline.errors import StepFailedError, TransientStepError
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.noop import noop
from pipeline.steps import GeneratedOutput, StepInputs
from tests.pipeline.workflows import BRIEF, fresh_context, run_steps


@pytest.fixture
def planned(service: CampaignContextService, executor: StepExecutor, graph: StepGraph) -> CampaignContext:
    ctx, _ = run_steps(executor, graph, fresh_context(service, {"brief": BRIEF}), only={"plan"})
    return ctx


def test_a_generator_raising_value_error_fails_the_step_naming_step_and_message(
    planned: CampaignContext, executor: StepExecutor, graph: StepGraph
) -> None:
    def broken(inputs: StepInputs) -> list[GeneratedOutput]:
        raise ValueError("the image service said no")

    with pytest.raises(StepFailedError) as excinfo:
        executor.run(planned, graph["bgm"].with_generator(broken))

    assert str(excinfo.value) == "step bgm failed: ValueError: the image service said no"
    assert excinfo.value.step_id == "bgm"
    assert isinstance(excinfo.value.__cause__, ValueError)


def test_a_transient_error_passes_through_unchanged(
    planned: CampaignContext, executor: StepExecutor, graph: StepGraph
) -> None:
    error = TransientStepError("rate limited, retry in 5 s")

    def flaky(inputs: StepInputs) -> list[GeneratedOutput]:
        raise error

    with pytest.raises(TransientStepError) as excinfo:
        executor.run(planned, graph["bgm"].with_generator(flaky))

    assert excinfo.value is error


def test_the_no_op_generator_s_failure_params_give_the_matching_errors(
    service: CampaignContextService, executor: StepExecutor, graph: StepGraph
) -> None:
    plan = graph["plan"].with_generator(noop)
    transient = fresh_context(service, {"steps": {"plan": {"fail": "transient"}}})
    permanent = fresh_context(service, {"steps": {"plan": {"fail": "permanent"}}})

    with pytest.raises(TransientStepError, match="step plan: simulated transient failure"):
        executor.run(transient, plan)
    with pytest.raises(StepFailedError, match="step plan failed: RuntimeError: step plan: simulated permanent"):
        executor.run(permanent, plan)


def test_a_generator_returning_nothing_fails_the_step(
    planned: CampaignContext, executor: StepExecutor, graph: StepGraph
) -> None:
    def empty(inputs: StepInputs) -> list[GeneratedOutput]:
        return []

    with pytest.raises(StepFailedError, match="step sfx failed: the generator produced no artifacts"):
        executor.run(planned, graph["sfx"].with_generator(empty))


def test_a_generator_reading_an_undeclared_input_fails_the_step(
    planned: CampaignContext, executor: StepExecutor, graph: StepGraph
) -> None:
    def nosy(inputs: StepInputs) -> list[GeneratedOutput]:
        inputs.read("intro_image")
        return []

    with pytest.raises(StepFailedError, match="step sfx failed: it did not declare intro_image as an input"):
        executor.run(planned, graph["sfx"].with_generator(nosy))


def test_the_default_plan_generator_refuses_bad_button_params(
    service: CampaignContextService, executor: StepExecutor, graph: StepGraph
) -> None:
    ctx = fresh_context(service, {"brief": BRIEF, "steps": {"plan": {"buttons": []}}})

    with pytest.raises(StepFailedError, match=r"step plan failed: ValueError: params\.buttons must be a non-empty"):
        executor.run(ctx, graph["plan"])
