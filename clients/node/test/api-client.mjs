// @ts-check
// End-to-end from Node through the typed API client, against a real `campaign api`, workers, Redis and PostgreSQL
// (started by tests/node/test_api_client.py). Prints one JSON line with what it saw; exits non-zero on the first
// failed expectation. Type-checked too (`npx tsc -p .`): a call the OpenAPI document does not allow fails there.
import assert from "node:assert/strict";
import crypto from "node:crypto";

import { campaignApi, RefusalError, runEvents } from "../api/client.mjs";

/** @param {string} name */
const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const api = campaignApi(env("CAMPAIGN_API_URL"), env("CAMPAIGN_API_KEY"));
const timeoutMs = Number(process.env.CAMPAIGN_RUN_TIMEOUT_MS ?? 120_000);

// 1. A run, submitted over HTTP: 202 and the run's id and status.
const created = await api.POST("/v1/runs", {
  body: { payload: { brief: "Pop the balloons for a free coffee. Bright, playful colours." } },
  headers: { "Idempotency-Key": crypto.randomUUID() },
});
assert.equal(created.response.status, 202, JSON.stringify(created.error));
assert.ok(created.data, "no run in the answer");
const runId = created.data.id;
assert.match(runId, /^[0-9a-f-]{36}$/);

// 2. Its events over SSE, in log order, until it ends.
const abort = new AbortController();
const timer = setTimeout(() => abort.abort(new Error(`run ${runId} did not end within ${timeoutMs} ms`)), timeoutMs);
/** @type {{id: number, event: import("../api/client.mjs").RunEvent}[]} */
const seen = [];
try {
  for await (const item of runEvents(api, runId, { signal: abort.signal })) {
    assert.equal(item.event.runId, runId);
    seen.push(item);
    if (["completed", "failed", "cancelled"].includes(item.event.kind)) break;
  }
} finally {
  clearTimeout(timer);
}
const ids = seen.map((s) => s.id);
assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "event ids out of order");
assert.equal(new Set(ids).size, ids.length, "an event twice");
const kinds = seen.map((s) => s.event.kind);
assert.equal(kinds.at(-1), "completed", JSON.stringify(seen.at(-1)));

// 3. A reconnect after the second event reads exactly what followed it.
const resumed = [];
for await (const item of runEvents(api, runId, { lastEventId: ids[1] })) {
  resumed.push(item.id);
  if (item.id === ids.at(-1)) break;
}
assert.deepEqual(resumed, ids.slice(2));

// 4. The run as GET /v1/runs/{id} answers it.
const read = await api.GET("/v1/runs/{run_id}", { params: { path: { run_id: runId } } });
assert.equal(read.response.status, 200);
assert.ok(read.data);
assert.equal(read.data.id, runId);
assert.equal(read.data.status, "completed");

// 5. An unknown run: 404 with the structured refusal, from GET and from the events stream alike.
const unknown = crypto.randomUUID();
const missing = await api.GET("/v1/runs/{run_id}", { params: { path: { run_id: unknown } } });
assert.equal(missing.response.status, 404);
assert.ok(missing.error, "no refusal body");
const refusal = missing.error;
assert.equal(refusal.code, "not_found");
assert.equal(typeof refusal.exitCode, "number");
assert.equal(typeof refusal.message, "string");
assert.ok(refusal.errors.length > 0 && refusal.errors.every((e) => typeof e.path === "string" && e.message));
/** @type {unknown} */
let streamRefusal;
try {
  for await (const _ of runEvents(api, unknown)) break;
} catch (error) {
  streamRefusal = error;
}
assert.ok(streamRefusal instanceof RefusalError, String(streamRefusal));
assert.equal(streamRefusal.status, 404);
assert.deepEqual(streamRefusal.refusal, refusal);

console.log(JSON.stringify({
  ok: true, runId, status: read.data.status, kinds, resumed: resumed.length,
  notFound: { status: missing.response.status, ...refusal },
}));
