// The dashboard's client of the daemon's HTTP gateway (docs/dashboard.md, "The gateway").
//
// Every RPC is at POST /api/<service>/<Method> with its request as proto3 JSON; a
// server-streaming call answers with Server-Sent Events (one `data:` line per message, then an
// `end` event carrying the call's status). The session cookie set from `?token=` authenticates.

/** An RPC that ended with a status other than OK. */
export class RPCError extends Error {
  constructor(status) {
    super(status.message || status.codeName || "request failed");
    this.code = status.code ?? 2;
    this.codeName = status.codeName ?? "UNKNOWN";
    this.details = status.details ?? {};
  }
}

async function failure(response) {
  let status;
  try {
    status = await response.json();
  } catch {
    status = { code: 2, codeName: "UNKNOWN", message: `HTTP ${response.status}` };
  }
  return new RPCError(status);
}

/**
 * A unary call (or a client-streaming / bidirectional one, with `request` an array).
 * @param {string} service full service name, "tally.v1.Tracking"
 * @param {string} method method name, "ListRuns"
 * @param {object|object[]} request proto3 JSON of the request
 * @returns {Promise<object>} proto3 JSON of the response (fields at their default are absent)
 */
export async function call(service, method, request = {}, { signal } = {}) {
  const response = await fetch(`/api/${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** Shorthands for the two services. */
export const tracking = (method, request, options) => call("tally.v1.Tracking", method, request, options);
export const experiments = (method, request, options) => call("tally.v1.Experiments", method, request, options);

/**
 * A server-streaming call. `onMessage(json)` runs for each response as it arrives.
 * Returns { done, cancel }: `done` resolves when the call ends OK and rejects with an RPCError
 * otherwise (not when cancelled); `cancel()` ends the call (the gateway cancels it on the daemon).
 */
export function stream(service, method, request, onMessage) {
  const controller = new AbortController();
  const done = (async () => {
    const response = await fetch(`/api/${service}/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify(request ?? {}),
      credentials: "same-origin",
      signal: controller.signal,
    });
    if (!response.ok) throw await failure(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) throw new RPCError({ code: 14, codeName: "UNAVAILABLE", message: "the stream ended without a status" });
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length === 0) continue;
          const json = JSON.parse(data.join("\n"));
          if (event === "end") {
            reader.cancel().catch(() => {});
            if ((json.code ?? 0) !== 0) throw new RPCError(json);
            return;
          }
          onMessage(json);
        }
      }
    } catch (error) {
      // A bad event or a throwing onMessage: stop reading, so the call does not stay open.
      reader.cancel().catch(() => {});
      throw error;
    }
  })().catch((error) => {
    if (controller.signal.aborted) return;
    throw error;
  });
  return { done, cancel: () => controller.abort() };
}

export const trackingStream = (method, request, onMessage) => stream("tally.v1.Tracking", method, request, onMessage);
export const experimentsStream = (method, request, onMessage) => stream("tally.v1.Experiments", method, request, onMessage);

/** proto3 JSON writes 64-bit integers as strings; this reads one as a Number (0 when absent). */
export const int = (value) => (value === undefined || value === null ? 0 : Number(value));
