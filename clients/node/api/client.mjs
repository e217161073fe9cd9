// @ts-check
// A typed client of the HTTP API: openapi-fetch over the types openapi-typescript generates from the committed
// OpenAPI document (api/openapi.d.ts, `npm run generate`), plus the run's Server-Sent Events, which OpenAPI does
// not describe beyond their media type.
import createClient from "openapi-fetch";
import { EventSourceParserStream } from "eventsource-parser/stream";

/** @typedef {import("./openapi.js").paths} paths */
/** @typedef {import("./openapi.js").components["schemas"]} schemas */
/** @typedef {import("openapi-fetch").Client<paths>} CampaignApi */
/** A refusal: `{code, exitCode, message, errors: [{path, message}]}`, with the HTTP status that says the same. */
/** @typedef {schemas["Refusal"]} Refusal */
/** @typedef {schemas["RunOut"]} Run */

/**
 * One run event, as `docs/schema/event.schema.json` describes it.
 * @typedef {object} RunEvent
 * @property {string} runId
 * @property {string} tenantId
 * @property {"queued" | "running" | "step_finished" | "completed" | "failed" | "cancelled"} kind
 * @property {string} status
 * @property {string} at
 * @property {string} [step]
 * @property {string} [reason]
 */

/**
 * A client of the API at `baseUrl`, every request carrying `Authorization: Bearer <apiKey>`.
 * @param {string} baseUrl
 * @param {string} apiKey
 * @returns {CampaignApi}
 */
export function campaignApi(baseUrl, apiKey) {
  return createClient({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}

/**
 * The run's events from the start (or after `lastEventId`), each with its log id, as they are logged. The stream
 * never ends by itself: stop iterating (or abort `signal`) once the run has ended. A refusal (404 for an unknown
 * run) is thrown as a RefusalError before any event.
 * @param {CampaignApi} api
 * @param {string} runId
 * @param {{lastEventId?: number, signal?: AbortSignal}} [options]
 * @returns {AsyncGenerator<{id: number, event: RunEvent}>}
 */
export async function* runEvents(api, runId, { lastEventId, signal } = {}) {
  const { data, error, response } = await api.GET("/v1/runs/{run_id}/events", {
    params: { path: { run_id: runId }, header: lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId } },
    parseAs: "stream",
    signal,
  });
  if (error !== undefined || !data) throw new RefusalError(response.status, /** @type {Refusal} */ (error));
  const messages = data.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  for await (const message of messages) {
    yield { id: Number(message.id), event: /** @type {RunEvent} */ (JSON.parse(message.data)) };
  }
}

/** A refusal of the API as an Error: `status` is the HTTP status, `refusal` the JSON body. */
export class RefusalError extends Error {
  /**
   * @param {number} status
   * @param {Refusal} refusal
   */
  constructor(status, refusal) {
    super(`${status} ${refusal?.code}: ${refusal?.message}`);
    this.status = status;
    this.refusal = refusal;
  }
}
