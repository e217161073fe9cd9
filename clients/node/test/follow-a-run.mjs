// End-to-end from Node against a real worker, Redis and PostgreSQL (started by tests/node/test_node_client.py).
// Prints one JSON line with what it saw; exits non-zero on the first failed expectation.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

import pg from "pg";

import { celery, inputHash, readContext, schemaValidators, startRun } from "../follow.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const redisUrl = env("CAMPAIGN_BROKER_URL");
// Start results come back through the result backend, its own URL (compose keeps results in Redis db 1).
const resultBackendUrl = process.env.CAMPAIGN_RESULT_BACKEND || redisUrl;
const pgUrl = env("CAMPAIGN_PG_URL");
const eventsQueue = env("CAMPAIGN_EVENTS_QUEUE");
const schemaDir = process.env.CAMPAIGN_SCHEMA_DIR ?? fileURLToPath(new URL("../../../docs/schema", import.meta.url));
const validate = schemaValidators(schemaDir);
const tenantId = crypto.randomUUID();

function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const client = celery.createClient(redisUrl, resultBackendUrl);
const worker = celery.createWorker(redisUrl, redisUrl, eventsQueue);
const events = [];
let completed;
const completion = new Promise((resolve) => { completed = resolve; });
worker.register("campaign.run_event", (event) => {
  events.push(event);
  if (event.kind === "completed" || event.kind === "failed") completed(event);
  return null;
});
worker.start();

const listener = new pg.Client({ connectionString: pgUrl });
await listener.connect();
const notified = [];
listener.on("notification", (msg) => notified.push(JSON.parse(msg.payload)));
await listener.query("LISTEN campaign_run_events");

try {
  // 1. A bad request is refused before anything is enqueued, with a JSON path per problem.
  const bad = { tenantId, payload: { brief: "x", steps: { bgm: { tempo_bpm: "fast" }, sparkles: {} } } };
  assert.equal(validate.request(bad), false, "the request schema refuses it too");
  const refusal = await startRun(client, bad).then(
    () => assert.fail("a bad request was accepted"),
    (error) => error.refusal,
  );
  assert.equal(refusal.code, "invalid_request");
  assert.deepEqual(refusal.errors.map((e) => e.path).sort(), ["payload.steps.bgm.tempo_bpm", "payload.steps.sparkles"]);

  // 2. The documented JSON starts a run; the completion event arrives on the events queue.
  const runId = crypto.randomUUID();
  const request = {
    tenantId, runId, workflowName: "campaign",
    payload: { brief: "Pop the balloons. Bright colours.", steps: { bgm: { mood: "calm", tempo_bpm: 96 } } },
  };
  assert.ok(validate.request(request), JSON.stringify(validate.request.errors));
  assert.equal(await startRun(client, request), runId);
  const last = await within(120_000, "the completion event", completion);
  assert.equal(last.kind, "completed", JSON.stringify(last));
  assert.equal(last.runId, runId);
  for (const event of events) assert.ok(validate.event(event), JSON.stringify(validate.event.errors));
  assert.deepEqual(events.filter((e) => e.runId === runId).slice(0, 2).map((e) => e.kind), ["queued", "running"]);

  // 3. The stored context, read with the tenant setting, validates; another tenant sees nothing.
  const row = await readContext(pgUrl, tenantId, runId);
  assert.equal(row.status, "completed");
  assert.ok(validate.context(row.context), JSON.stringify(validate.context.errors));
  assert.equal(await readContext(pgUrl, crypto.randomUUID(), runId), undefined);

  // 4. An input hash recomputed in JavaScript equals the stored one (plan reads the brief and its own params;
  // its version is pipeline.steps.DEFAULT_VERSIONS["plan"]).
  const planParams = { ...(request.payload.steps.plan ?? {}), brief: request.payload.brief };
  assert.equal(inputHash("plan", "2", planParams, {}), row.context.computed.inputHashesByStep.plan);

  // 5. PostgreSQL NOTIFY carried the same transitions.
  const mine = notified.filter((e) => e.runId === runId);
  assert.ok(mine.some((e) => e.kind === "completed"), JSON.stringify(notified));
  for (const event of mine) assert.ok(validate.event(event), JSON.stringify(validate.event.errors));

  console.log(JSON.stringify({
    ok: true, refusal, runId, events: events.filter((e) => e.runId === runId).map((e) => e.kind),
    notified: mine.map((e) => e.kind),
  }));
} finally {
  await listener.end();
  await client.disconnect();
  await worker.disconnect();
}
