// The public API, with the signed-in key. The key lives in sessionStorage
// only: never in a URL, a cookie or a log.

const KEY = "contactsd.key";
const READ_ONLY = "contactsd.readOnly";

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  /** Whether the API refused this key a write (403 forbidden). */
  get readOnly() { return sessionStorage.getItem(READ_ONLY) === "1"; },
  signIn(key) { sessionStorage.setItem(KEY, key); sessionStorage.removeItem(READ_ONLY); },
  signOut() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(READ_ONLY); },
  markReadOnly() { sessionStorage.setItem(READ_ONLY, "1"); },
};

/** An answer that is not 2xx: the contract's error body, and its status. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `The server answered ${status}`);
    this.status = status;
    this.body = body || {};
  }
  /** The message for each body field or query parameter named in details. */
  get fields() {
    const fields = {};
    for (const detail of this.body.details || []) {
      if (!(detail.field in fields)) fields[detail.field] = detail.message;
    }
    return fields;
  }
}

/** Called when the key is refused mid-session (revoked): sign out. */
let onUnauthorized = () => {};
export function whenUnauthorized(f) { onUnauthorized = f; }

/** Called when the key turns out to be read-only (a write was refused). */
let onReadOnly = () => {};
export function whenReadOnly(f) { onReadOnly = f; }

/**
 * Sends a request; resolves to the parsed JSON answer, or rejects with an
 * ApiError. `body` is an object (sent as JSON) or a string (sent as is);
 * `onHeaders` is given the answer's headers.
 */
export async function request(method, path, { body, key = session.key, signal, type, onHeaders } = {}) {
  const headers = { "x-api-key": key || "" };
  let payload;
  if (typeof body === "string" || body instanceof Blob) {
    payload = body;
    headers["Content-Type"] = type || "application/json";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(path, { method, headers, body: payload, signal });
  if (onHeaders) onHeaders(answer.headers);
  const text = await answer.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!answer.ok) {
    if (answer.status === 401 && key === session.key) onUnauthorized();
    if (answer.status === 403 && json && json.code === "forbidden" && key === session.key) {
      session.markReadOnly();
      onReadOnly();
    }
    throw new ApiError(answer.status, json);
  }
  return json;
}

/** Downloads `path` (with the key) as a file named `filename`. */
export async function download(path, filename) {
  const answer = await fetch(path, { headers: { "x-api-key": session.key || "" } });
  if (!answer.ok) {
    let body = null;
    try { body = await answer.json(); } catch { body = null; }
    throw new ApiError(answer.status, body);
  }
  const url = URL.createObjectURL(await answer.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A query string of the non-empty entries of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Follows the changes feed of `types` from now on: `/v1/changes/stream`,
 * read with fetch so the key travels in a header as everywhere else
 * (EventSource cannot send one). Calls `onChange(change)` for each change;
 * after a drop it reconnects with the last id seen, so nothing is missed.
 * `onLive(true)` when the stream is open, `onLive(false)` when it drops.
 * Returns a function that stops it.
 */
export function followChanges(types, onChange, onLive = () => {}) {
  const controller = new AbortController();
  const signal = controller.signal;
  const headers = () => ({ "x-api-key": session.key || "" });
  let last = null;
  (async () => {
    while (!signal.aborted) {
      try {
        if (last === null) {
          // Where "now" is: the organization's latest change number.
          const start = await fetch(`/v1/changes?limit=1&types=${types}`, { headers: headers(), signal });
          if (!start.ok) return;
          last = start.headers.get("x-latest-seq") || "0";
        }
        const answer = await fetch(`/v1/changes/stream?types=${types}`,
          { headers: { ...headers(), "Last-Event-ID": last }, signal });
        if (answer.status === 410) { last = null; continue; }
        if (!answer.ok) return;
        onLive(true);
        const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = { type: "message", id: null, data: "" };
            for (const line of block.split("\n")) {
              const colon = line.indexOf(":");
              if (colon <= 0) continue;
              const name = line.slice(0, colon);
              const text = line.slice(colon + 1).replace(/^ /, "");
              if (name === "event") event.type = text;
              else if (name === "id") event.id = text;
              else if (name === "data") event.data += text;
            }
            if (event.type === "change" && event.data) {
              last = event.id ?? last;
              onChange(JSON.parse(event.data));
            }
          }
        }
      } catch {
        if (signal.aborted) return;
      }
      onLive(false);
      // Dropped: try again shortly, from the last id seen.
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  return () => controller.abort();
}
