import { api, ApiError, costText, element, live, mib, ms, row, utc } from './api.js';

// today's usage (since 00:00 UTC) summed over the rows of its day bucket, by model and in all
export function today(usage) {
  const models = new Map();
  const all = { requests: 0, errors: 0, duration: 0, cost: {} };
  for (const data of usage.data) {
    const model = models.get(data.group) || { requests: 0, errors: 0, duration: 0, cost: {} };
    for (const sums of [model, all]) {
      sums.requests += data.requests;
      sums.errors += data.errors;
      sums.duration += data.duration_ms;
    }
    model.cost = data.cost;
    models.set(data.group, model);
  }
  all.cost = usage.total_cost;
  return { all, models };
}

function rate(errors, requests) {
  return requests ? `${((100 * errors) / requests).toFixed(1)} %` : '—';
}

function mean(duration, requests) {
  return requests ? ms(duration / requests) : '—';
}

// the last five minutes of a version, as its monitoring counts them (the platform admin's, or an owner's own)
async function traffic(version) {
  try {
    const monitoring = await api('GET', `/admin/models/${encodeURIComponent(version.model)}/versions/`
      + `${version.version}/monitoring`);
    return monitoring.traffic.find((window) => window.window === '5m') || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      throw e;
    }
    return null;
  }
}

async function refresh(session) {
  const midnight = new Date();
  midnight.setUTCHours(0, 0, 0, 0);
  const base = session.key.role === 'admin' ? '/admin/usage' : '/v1/usage';
  const [usage, loaded] = await Promise.all([
    api('GET', `${base}?bucket=day&group_by=model&from=${encodeURIComponent(midnight.toISOString())}`),
    api('GET', '/admin/loaded')]);
  const { all, models } = today(usage);
  const figures = [['Requests', String(all.requests)], ['Errors', `${all.errors} (${rate(all.errors, all.requests)})`],
    ['Mean latency', mean(all.duration, all.requests)], ['Spend', costText(all.cost)]];
  document.getElementById('overview-today').replaceChildren(...figures.flatMap(([name, value]) => [
    element('dt', name), element('dd', value, { 'data-figure': name })]));
  document.getElementById('overview-models').replaceChildren(...[...models.entries()].map(([model, sums]) => row([
    ['Model', model], ['Requests', sums.requests], ['Errors', `${sums.errors} (${rate(sums.errors, sums.requests)})`],
    ['Mean latency', mean(sums.duration, sums.requests)], ['Spend', costText(sums.cost)]], { 'data-model': model })));

  const memory = document.getElementById('overview-memory');
  const meter = document.getElementById('overview-meter');
  memory.textContent = loaded.budget_bytes
    ? `${mib(loaded.loaded_bytes)} loaded of a budget of ${mib(loaded.budget_bytes)}`
    : `${mib(loaded.loaded_bytes)} loaded (no memory budget)`;
  meter.hidden = !loaded.budget_bytes;
  meter.value = loaded.budget_bytes ? loaded.loaded_bytes / loaded.budget_bytes : 0;
  const versions = loaded.data.slice(0, 50);
  const windows = await Promise.all(versions.map(traffic));
  document.getElementById('overview-loaded').replaceChildren(...versions.map((version, i) => {
    const window = windows[i];
    return row([['Version', `${version.model}:${version.version}`], ['Engine', version.engine],
      ['Memory', mib(version.bytes)], ['Last used (UTC)', utc(version.last_used)], ['In flight', version.in_flight],
      ['Calls/min', window ? window.calls_per_minute.toFixed(1) : '—'],
      ['Error rate', window ? rate(window.errors, window.calls) : '—'],
      ['p50', window ? ms(window.p50_ms) : '—'], ['p99', window ? ms(window.p99_ms) : '—']],
    { 'data-version': `${version.model}:${version.version}` });
  }));
}

export async function showOverview(session) {
  const error = document.getElementById('overview-error');
  error.textContent = '';
  const update = () => refresh(session).then(() => { error.textContent = ''; }, (e) => {
    error.textContent = e.message;
    throw e;
  });
  await update();
  live(5000, update);
}
