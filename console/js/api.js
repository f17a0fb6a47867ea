// api: the one way the console talks to wsusd: the same /api/v1/ calls wsusctl makes, with
// the session cookie (sent by the browser, HttpOnly) and the session's CSRF token in
// X-CSRF-Token on every state-changing call. No rule of the API is repeated here: the
// server checks every value and its error message is shown as it is.

let csrf = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const opts = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = csrf || "";
    headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  let data = null;
  try {
    data = await r.json();
  } catch (e) {
    data = null;
  }
  if (!r.ok) {
    const msg = data && typeof data.error === "string" ? data.error : "HTTP " + r.status;
    throw new ApiError(r.status, msg);
  }
  return data;
}

// Restore the session of the cookie (after a reload); false when not logged in.
export async function resume() {
  try {
    csrf = (await request("GET", "/console/session")).csrf;
    return true;
  } catch (e) {
    if (e.status === 401) return false;
    throw e;
  }
}

export async function login(token) {
  csrf = (await request("POST", "/console/login", { token })).csrf;
}

export async function logout() {
  await request("POST", "/console/logout", {});
  csrf = null;
}

// GET /api/v1/<path> with query parameters (undefined, null and "" are left out).
export function get(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {}))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const qs = q.toString();
  return request("GET", "/api/v1/" + path + (qs ? "?" + qs : ""));
}

export function post(path, body) {
  return request("POST", "/api/v1/" + path, body);
}

// GET for a call another part of wsusd may not have yet: null when the server answers 404
// for the call itself ("no admin API call ...").
export async function getOptional(path, query) {
  try {
    return await get(path, query);
  } catch (e) {
    if (e.status === 404 && /^no admin API call/.test(e.message)) return null;
    throw e;
  }
}
