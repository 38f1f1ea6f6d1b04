// Calls to the server's public APIs with the console's session: the cookie goes by itself (same origin), and
// every state-changing call carries the session's CSRF token. The API key is never kept in the browser.
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function setSession(session) {
  csrfToken = session ? session.csrf_token : null;
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) {
    return null;
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!response.ok) {
    const message = json && json.error && json.error.message ? json.error.message : `${response.status}`;
    throw new ApiError(response.status, message);
  }
  return json;
}

// A DOM element with text content only (never markup from data).
export function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

// a datetime-local input's value (no zone) read as UTC
export function fromInput(value) {
  return value ? new Date(`${value}:00Z`).toISOString() : null;
}

// a time as UTC text to the second: ISO-8601 text or epoch seconds; empty for none
export function utc(value) {
  if (value === null || value === undefined || value === '') {
    return '';
  }
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

// amounts by currency as text ("1.25 USD, 0.50 EUR"; "0" for none)
export function costText(cost) {
  const entries = Object.entries(cost || {});
  return entries.length ? entries.map(([currency, amount]) => `${amount} ${currency}`).join(', ') : '0';
}

export function mib(bytes) {
  return bytes === null || bytes === undefined ? '' : `${(bytes / 1048576).toFixed(1)} MiB`;
}

export function ms(value) {
  return value === null || value === undefined ? '—' : `${Number(value).toFixed(1)} ms`;
}

// a table row of text cells, each labelled for the narrow layout
export function row(cells, attributes = {}) {
  const tr = element('tr', null, attributes);
  for (const [label, value] of cells) {
    tr.append(element('td', value, { 'data-label': label }));
  }
  return tr;
}

// one poller for the page in view: the router stops it when the page changes; a hidden tab is not polled
let timer = null;

export function live(millis, refresh) {
  stopLive();
  timer = setInterval(() => {
    if (!document.hidden) {
      refresh().catch(() => {});
    }
  }, millis);
}

export function stopLive() {
  if (timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

// a key's or tenant's rate limits as text; the fallback when none is set
export function limitsText(limits, fallback) {
  const set = [['rpm', limits.rpm], ['tpm', limits.tpm], ['concurrent', limits.max_concurrent]]
    .filter(([, value]) => value !== null && value !== undefined);
  return set.length ? set.map(([name, value]) => `${name} ${value}`).join(', ') : fallback;
}
