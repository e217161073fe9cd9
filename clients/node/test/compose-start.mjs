// docker/compose-check (compose_checks.py): a campaign started from Node exactly as the README's "From TypeScript" section does it,
// against the compose stack: celery-node with the broker and the result backend as two URLs (compose keeps
// results in Redis db 1), the stored context read as campaign_reader under row-level security.
// Prints one JSON line {runId, tenantId, status, steps, updateRefused}; exits non-zero on a failed expectation.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

import pg from "pg";

import { celery, readContext, schemaValidators, startRun } from "../follow.mjs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const brokerUrl = env("CAMPAIGN_BROKER_URL");
const resultBackendUrl = env("CAMPAIGN_RESULT_BACKEND");
const readerUrl = env("CAMPAIGN_READER_PG_URL");
const deadlineMs = Number(process.env.RUN_DEADLINE_MS ?? 240_000);
const validate = schemaValidators(fileURLToPath(new URL("../../../docs/schema", import.meta.url)));

const tenantId = crypto.randomUUID();
const runId = crypto.randomUUID();
const client = celery.createClient(brokerUrl, resultBackendUrl);
try {
  const request = {
    tenantId, runId, workflowName: "campaign",
    payload: { brief: "Pop the balloons. Bright colours.", steps: { bgm: { mood: "calm", tempo_bpm: 96 } } },
  };
  assert.ok(validate.request(request), JSON.stringify(validate.request.errors));
  assert.equal(await startRun(client, request), runId);

  let row;
  const until = Date.now() + deadlineMs;
  for (;;) {
    row = await readContext(readerUrl, tenantId, runId);
    if (row && ["completed", "failed", "cancelled"].includes(row.status)) break;
    if (Date.now() > until) throw new Error(`run ${runId} still ${row?.status} after ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.equal(row.status, "completed", JSON.stringify(row.context?.runtime ?? row));
  assert.ok(validate.context(row.context), JSON.stringify(validate.context.errors));
  assert.equal(await readContext(readerUrl, crypto.randomUUID(), runId), undefined, "another tenant sees the run");

  // The reader may not write, even to its own tenant's row.
  const db = new pg.Client({ connectionString: readerUrl });
  await db.connect();
  let updateRefused = "";
  try {
    await db.query("BEGIN");
    await db.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]);
    await db.query("UPDATE app.runs SET status = 'failed' WHERE id = $1", [runId]);
  } catch (error) {
    updateRefused = error.message;
  } finally {
    await db.query("ROLLBACK").catch(() => {});
    await db.end();
  }
  assert.match(updateRefused, /permission denied/);
  console.log(JSON.stringify({ runId, tenantId, status: row.status, updateRefused }));
} finally {
  await client.disconnect();
}
