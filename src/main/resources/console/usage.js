import uPlot from '/console/lib/uPlot.esm.js';
import { api, costText, element, fromInput } from './api.js';

let session = null;
let chart = null;
const palette = ['#0b5cad', '#b35900', '#1a7f37', '#8250df', '#a4161a', '#57606a'];

function toInput(date) {
  return date.toISOString().slice(0, 16);
}

function query() {
  const form = document.getElementById('usage-form');
  const params = new URLSearchParams({ bucket: form.bucket.value, group_by: form.group_by.value });
  const from = fromInput(form.from.value);
  const to = fromInput(form.to.value);
  if (from) params.set('from', from);
  if (to) params.set('to', to);
  if (session.key.role === 'admin' && form.tenant.value.trim()) params.set('tenant', form.tenant.value.trim());
  const base = session.key.role === 'admin' ? '/admin/usage' : '/v1/usage';
  return { json: `${base}?${params}`, csv: `${base}?${params}&format=csv` };
}

const STEPS = { minute: 60, hour: 3600, day: 86400 };

// the chart's series: requests per bucket start (seconds) over the whole range, one series per group, 0 where a
// group had none (at most 2,000 buckets: a longer range shows its buckets with requests only)
export function seriesOf(usage) {
  const step = STEPS[usage.bucket];
  const first = Math.floor(Date.parse(usage.from) / 1000 / step) * step;
  const last = Math.floor((Date.parse(usage.to) / 1000 - 1) / step) * step;
  const withRequests = usage.data.map((row) => Date.parse(row.start) / 1000);
  const all = (last - first) / step + 1 <= 2000
    ? Array.from({ length: (last - first) / step + 1 }, (_, i) => first + i * step) : [];
  const starts = [...new Set([...all, ...withRequests])].sort((a, b) => a - b);
  const groups = [...new Set(usage.data.map((row) => row.group))].sort();
  const index = new Map(starts.map((start, i) => [start, i]));
  const series = groups.map(() => starts.map(() => 0));
  for (const row of usage.data) {
    series[groups.indexOf(row.group)][index.get(Date.parse(row.start) / 1000)] += row.requests;
  }
  return { starts, groups, series };
}

function draw(usage) {
  const { starts, groups, series } = seriesOf(usage);
  const container = document.getElementById('usage-chart');
  if (chart) {
    chart.destroy();
    chart = null;
  }
  container.replaceChildren();
  window.atriumConsole = window.atriumConsole || {};
  window.atriumConsole.usage = { starts, groups, series };
  if (!usage.data.length) {
    container.append(element('p', 'No requests in this range.'));
    return;
  }
  const width = Math.max(280, container.clientWidth || 600);
  chart = new uPlot({
    width, height: 300, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    series: [{ label: 'UTC' }, ...groups.map((group, i) => ({
      label: group, stroke: palette[i % palette.length], width: 2, points: { show: true },
      paths: uPlot.paths.stepped({ align: 1 }),
    }))],
    axes: [{}, { label: 'requests' }],
  }, [starts, ...series], container);
  window.atriumConsole.usage.drawn = chart.data;
}

// the chart follows its container's width (a phone turned, a window resized)
new ResizeObserver(() => {
  const container = document.getElementById('usage-chart');
  if (chart && container.clientWidth && Math.abs(chart.width - container.clientWidth) > 1) {
    chart.setSize({ width: Math.max(280, container.clientWidth), height: 300 });
  }
}).observe(document.getElementById('usage-chart'));

function table(usage) {
  const rows = usage.data.map((row) => {
    const tr = element('tr');
    [['Bucket start (UTC)', row.start.replace('T', ' ').replace('Z', '')], ['Group', row.group],
      ['Requests', row.requests], ['Input tokens', row.input_tokens], ['Output tokens', row.output_tokens],
      ['Cost', costText(row.cost)]].forEach(([label, value]) => tr.append(element('td', value,
      { 'data-label': label })));
    return tr;
  });
  document.getElementById('usage-rows').replaceChildren(...rows);
  const requests = usage.data.reduce((sum, row) => sum + row.requests, 0);
  document.getElementById('usage-summary').textContent =
    `${requests} requests from ${usage.from} to ${usage.to} (UTC), by ${usage.group_by} per ${usage.bucket};`
    + ` cost ${costText(usage.total_cost)}`;
}

export async function refreshUsage() {
  const error = document.getElementById('usage-error');
  error.textContent = '';
  const urls = query();
  document.getElementById('usage-csv').href = urls.csv;
  try {
    const usage = await api('GET', urls.json);
    draw(usage);
    table(usage);
  } catch (e) {
    error.textContent = e.message;
  }
}

export function showUsage(current) {
  session = current;
  document.getElementById('usage-tenant-field').hidden = session.key.role !== 'admin';
  const form = document.getElementById('usage-form');
  if (!form.from.value) {
    const now = new Date();
    form.from.value = toInput(new Date(now.getTime() - 60 * 60 * 1000));
    form.to.value = toInput(new Date(now.getTime() + 60 * 1000));
  }
  return refreshUsage();
}

document.getElementById('usage-form').addEventListener('submit', (event) => {
  event.preventDefault();
  refreshUsage();
});
