// api.js - the HTTP client: JSON in and out; a problem document becomes an
// Error carrying its detail and field, so forms can say what was wrong.
export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

// A page opened from a share link (?share=TOKEN) has no account: the link's
// token goes with every read of its session.
let shareToken = null;
export function setShare(token) { shareToken = token; }
export function withShare(path) {
  if (!shareToken || !path.startsWith('/api/v1/sessions/')) return path;
  return `${path}${path.includes('?') ? '&' : '?'}share=${encodeURIComponent(shareToken)}`;
}

export async function call(method, path, body) {
  path = withShare(path);
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(path, opts);
  if (r.status === 204) return null;
  const ctype = r.headers.get('Content-Type') || '';
  const data = ctype.includes('json') ? await r.json() : await r.text();
  if (!r.ok) throw new ApiError(typeof data === 'object' ? data : { detail: data }, r.status);
  return data;
}

const at = (version) => (version === null ? '' : `?version=${version}`);

export const api = {
  sessions: () => call('GET', '/api/v1/sessions'),
  create: (body) => call('POST', '/api/v1/sessions', body),
  // version: the state after that op, read-only (null: now)
  state: (id, version = null) => call('GET', `/api/v1/sessions/${id}${at(version)}`),
  ops: (id, ops) => call('POST', `/api/v1/sessions/${id}/ops`, { ops }),
  journal: (id, from = 0) => call('GET', `/api/v1/sessions/${id}/ops?from=${from}&limit=1000`),
  rewind: (id, to) => call('POST', `/api/v1/sessions/${id}/rewind`, { to }),
  check: (id, version = null) => call('GET', `/api/v1/sessions/${id}/check${at(version)}`),
  walk: (id, pfn, version = null) => call('GET', `/api/v1/sessions/${id}/frames/${pfn}/walk${at(version)}`),
  lessons: () => call('GET', '/api/v1/scenarios'),
  lesson: (name) => call('GET', `/api/v1/scenarios/${encodeURIComponent(name)}`),
};

// page offsets and indexes in hex, as the kernel's tools print them: an
// anonymous page's index is its address >> 12, which hex makes plain
export const hex = (n) => `0x${n.toString(16)}`;
