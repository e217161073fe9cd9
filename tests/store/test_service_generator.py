"""The service generator against a real HTTP generation service, inside the real executor, with the S3 store."""

from __future__ import annotations

import hashlib
import time

import pytest

from context.models import CampaignContext
from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from pipeline.errors import GeneratorLoadError, StepFailedError, TransientStepError
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.service_generator import ServiceConfig, ServiceGenerator, idempotency_key, service_generators
from pipeline.steps import default_steps
from pipeline.store_s3 import S3ArtifactStore
from tests.generation_service import TOKEN, GenerationService, _generate
from tests.pipeline.workflows import fresh_context, run_steps
from tests.services import free_port

STEPS = [s.id for s in default_steps()]


@pytest.fixture
def executor(registry: ReferenceTypeRegistry, s3_store: S3ArtifactStore) -> StepExecutor:
    return StepExecutor(CampaignContextService(registry), s3_store)


@pytest.fixture(scope="module")
def graph() -> StepGraph:
    return StepGraph(default_steps())


def _planned(executor: StepExecutor, graph: StepGraph, **bgm: object) -> CampaignContext:
    ctx = fresh_context(executor.service, {"brief": "Pop the bubbles", "steps": {"bgm": bgm}})
    return run_steps(executor, graph, ctx, only={"plan"})[0]


def _generator(service: GenerationService, store: S3ArtifactStore, **config: object) -> ServiceGenerator:
    cfg = ServiceConfig.model_validate({"url": service.url, "poll_interval_s": 0.05, **config})
    return ServiceGenerator("bgm", cfg, store, TOKEN)


def _key(executor: StepExecutor, graph: StepGraph, ctx: CampaignContext) -> str:
    return idempotency_key(ctx.run_id, "bgm", executor.decide(ctx, graph["bgm"]).input_hash)


def test_a_direct_answer_is_stored_and_attached_with_the_idempotency_key_and_input_links(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, mood="sad")
    key = _key(executor, graph, ctx)

    result = executor.run(ctx, graph["bgm"].with_generator(_generator(generation_service, s3_store)))

    art = next(a for a in result.context.artifacts.values() if a.type == "bgm")
    expected = _generate({"mood": "sad"})
    assert art.hash == hashlib.sha256(expected).hexdigest()
    assert s3_store.read(art.uri, art.hash) == expected
    assert art.metadata and art.metadata["mediaType"] == "audio/wav"
    assert generation_service.state.paid[key] == 1
    sent = generation_service.state.bodies[key][0]
    assert sent["stepId"] == "bgm" and sent["runId"] == ctx.run_id and sent["params"] == {"mood": "sad"}
    plan = next(a for a in ctx.artifacts.values() if a.type == "plan")
    assert sent["inputs"]["plan"]["hash"] == plan.hash
    assert sent["inputs"]["plan"]["url"].startswith("http://127.0.0.1:")  # a presigned link, fetched by the service


def test_a_202_job_is_polled_until_its_result_is_ready(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, scenario="job", job_polls=3, mood="calm")
    key = _key(executor, graph, ctx)

    result = executor.run(ctx, graph["bgm"].with_generator(_generator(generation_service, s3_store)))

    assert result.outcome == "executed"
    calls = [(c.method, c.path.split("/")[1], c.status) for c in generation_service.calls_for(key)]
    assert calls == [("POST", "generate", 202)] + [("GET", "jobs", 202)] * 3 + [
        ("GET", "jobs", 303),
        ("GET", "results", 200),
    ]
    assert generation_service.state.paid[key] == 1


def test_a_job_that_does_not_finish_in_time_is_transient_and_a_retry_reuses_the_job(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, scenario="job", job_polls=10)
    key = _key(executor, graph, ctx)
    impatient = _generator(generation_service, s3_store, wait_s=0.3, poll_interval_s=0.1)

    with pytest.raises(TransientStepError, match=r"did not finish within 0\.3 s"):
        executor.run(ctx, graph["bgm"].with_generator(impatient))
    executor.run(ctx, graph["bgm"].with_generator(_generator(generation_service, s3_store, poll_interval_s=0.01)))

    assert generation_service.state.attempts[key] == 2
    assert generation_service.state.paid[key] == 1


def test_429_is_transient_with_the_retry_after_delay_and_the_retry_is_not_paid_twice(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, scenario="rate_limited", retry_after="7")
    key = _key(executor, graph, ctx)
    spec = graph["bgm"].with_generator(_generator(generation_service, s3_store))

    with pytest.raises(TransientStepError, match="service answered 429: slow down") as excinfo:
        executor.run(ctx, spec)
    assert excinfo.value.retry_after_s == 7
    executor.run(ctx, spec)

    assert generation_service.state.attempts[key] == 2
    assert generation_service.state.paid[key] == 1


def test_a_retry_after_date_and_a_cap(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, scenario="rate_limited", retry_after="Wed, 21 Oct 2099 07:28:00 GMT")
    spec = graph["bgm"].with_generator(_generator(generation_service, s3_store, max_retry_after_s=30))

    with pytest.raises(TransientStepError) as excinfo:
        executor.run(ctx, spec)

    assert excinfo.value.retry_after_s == 30


def test_500_is_transient_without_a_delay_of_its_own(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, scenario="flaky", fail_times=2)
    spec = graph["bgm"].with_generator(_generator(generation_service, s3_store))

    for _ in range(2):
        with pytest.raises(TransientStepError, match="service answered 500: GPU fell over") as excinfo:
            executor.run(ctx, spec)
        assert excinfo.value.retry_after_s is None
    assert executor.run(ctx, spec).outcome == "executed"
    assert generation_service.state.paid[_key(executor, graph, ctx)] == 1


def test_a_slow_answer_times_out_as_transient_and_the_retry_gets_the_paid_result(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, scenario="slow", delay_s=2)
    key = _key(executor, graph, ctx)
    spec = graph["bgm"].with_generator(_generator(generation_service, s3_store, timeout_s=0.5))

    started = time.monotonic()
    with pytest.raises(TransientStepError, match="service timed out"):
        executor.run(ctx, spec)
    assert time.monotonic() - started < 1.9
    result = executor.run(ctx, spec)

    assert result.outcome == "executed"
    assert generation_service.state.attempts[key] == 2
    assert generation_service.state.paid[key] == 1  # the work the timed-out call started was not paid again


@pytest.mark.parametrize(
    ("token", "scenario", "message"),
    [
        (TOKEN, "reject", "step bgm failed: service answered 422: the prompt breaks the content policy"),
        ("Bearer wrong", "direct", "step bgm failed: service answered 401: invalid token"),
    ],
)
def test_a_4xx_fails_the_step_with_the_service_s_message(
    executor: StepExecutor,
    graph: StepGraph,
    generation_service: GenerationService,
    s3_store: S3ArtifactStore,
    token: str,
    scenario: str,
    message: str,
) -> None:
    ctx = _planned(executor, graph, scenario=scenario)
    gen = ServiceGenerator("bgm", ServiceConfig(url=generation_service.url), s3_store, token)

    with pytest.raises(StepFailedError) as excinfo:
        executor.run(ctx, graph["bgm"].with_generator(gen))

    assert str(excinfo.value) == message
    assert not isinstance(excinfo.value, TransientStepError)


def test_an_unreachable_service_is_transient(
    executor: StepExecutor, graph: StepGraph, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph)
    gen = ServiceGenerator("bgm", ServiceConfig(url=f"http://127.0.0.1:{free_port()}/generate"), s3_store, TOKEN)

    with pytest.raises(TransientStepError, match="service unreachable"):
        executor.run(ctx, graph["bgm"].with_generator(gen))


def test_the_key_is_the_same_for_the_same_inputs_and_changes_with_them(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    ctx = _planned(executor, graph, mood="happy")
    spec = graph["bgm"].with_generator(_generator(generation_service, s3_store))
    first = executor.run(ctx, spec, forced=True).context
    executor.run(ctx, spec, forced=True)  # a redelivery: same run, same inputs
    key = _key(executor, graph, ctx)
    other = _planned(executor, graph, mood="sad")

    assert generation_service.state.attempts[key] == 2 and generation_service.state.paid[key] == 1
    assert _key(executor, graph, other) != key
    assert idempotency_key(first.run_id, "bgm", "h1") != idempotency_key(first.run_id, "sfx", "h1")


def test_configuration_errors_stop_loading(s3_store: S3ArtifactStore, generation_service: GenerationService) -> None:
    good = {"url": generation_service.url, "auth_env": "GEN_TOKEN"}

    loaded = service_generators({"bgm": good}, STEPS, s3_store, {"GEN_TOKEN": TOKEN})
    assert isinstance(loaded["bgm"], ServiceGenerator) and loaded["bgm"].auth == TOKEN

    with pytest.raises(GeneratorLoadError, match="environment variable GEN_TOKEN is unset"):
        service_generators({"bgm": good}, STEPS, s3_store, {})
    with pytest.raises(GeneratorLoadError, match="no such step"):
        service_generators({"nope": good}, STEPS, s3_store, {"GEN_TOKEN": TOKEN})
    with pytest.raises(GeneratorLoadError, match="url"):
        service_generators({"bgm": {"url": "ftp://x"}}, STEPS, s3_store, {})
    with pytest.raises(GeneratorLoadError, match="timeout_s"):
        service_generators({"bgm": {"url": generation_service.url, "timeout_s": 0}}, STEPS, s3_store, {})


def test_a_redirect_to_another_origin_is_followed_without_the_auth_header(
    executor: StepExecutor, graph: StepGraph, generation_service: GenerationService, s3_store: S3ArtifactStore
) -> None:
    cdn = GenerationService()
    cdn.start()
    try:
        ctx = _planned(executor, graph, scenario="offsite", cdn=f"http://127.0.0.1:{cdn.port}", mood="sad")
        key = _key(executor, graph, ctx)
        cdn.state.results[key] = _generate({"mood": "sad"})

        result = executor.run(ctx, graph["bgm"].with_generator(_generator(generation_service, s3_store)))
    finally:
        cdn.stop()

    art = next(a for a in result.context.artifacts.values() if a.type == "bgm")
    assert art.hash == hashlib.sha256(_generate({"mood": "sad"})).hexdigest()
    assert cdn.state.public_auth == [None]  # the token stayed with the service's own origin
