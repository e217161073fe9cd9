// Start a campaign run and follow it from Node, with plain JSON only: no Python is imported.
//   celery-node sends `campaign.start_run`; a refused request fails the task with {code, errors: [{path, message}]};
//   a celery-node worker on CAMPAIGN_EVENTS_QUEUE receives `campaign.run_event` calls; PostgreSQL holds the context.
import crypto from "node:crypto";
import { readFileSync } from "node:fs";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import canonicalize from "canonicalize";
import celery from "celery-node";
import pg from "pg";

/** The committed JSON Schemas (docs/schema/NAME.schema.json), compiled with ajv. */
export function schemaValidators(schemaDir) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const load = (name) => ajv.compile(JSON.parse(readFileSync(`${schemaDir}/${name}.schema.json`, "utf8")));
  return { context: load("context"), request: load("request"), event: load("event") };
}

/** Send `campaign.start_run`; resolves with the run id, or rejects with the structured refusal. */
export async function startRun(client, request) {
  try {
    return await client.createTask("campaign.start_run").applyAsync([request]).get(30_000);
  } catch (error) {
    // celery-node copies the stored failure onto the error: exc_message[0] is the refusal JSON.
    const refusal = error.exc_message?.[0];
    if (refusal && typeof refusal === "object" && refusal.code) throw Object.assign(new Error(refusal.message), { refusal });
    throw error;
  }
}

/** The stored context of a run, read as its tenant: row-level security only shows rows of `app.tenant_id`. */
export async function readContext(pgUrl, tenantId, runId) {
  const db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  try {
    await db.query("BEGIN");
    await db.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]); // true: for this transaction only
    const { rows } = await db.query("SELECT status, context FROM app.runs WHERE id = $1", [runId]);
    await db.query("COMMIT");
    return rows[0];
  } finally {
    await db.end();
  }
}

/** An input hash recomputed here: "jcs-sha256:" + sha256 of the RFC 8785 canonical document. */
export function inputHash(step, version, params, inputs) {
  const text = canonicalize({ step, version, params, inputs });
  return "jcs-sha256:" + crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

export { celery };
