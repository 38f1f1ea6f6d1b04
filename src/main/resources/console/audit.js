import { api, element, fromInput } from './api.js';

let session = null;
let next = null;

function params() {
  const form = document.getElementById('audit-form');
  const query = new URLSearchParams();
  for (const name of ['action', 'actor']) {
    if (form[name].value.trim()) query.set(name, form[name].value.trim());
  }
  for (const name of ['from', 'to']) {
    const value = fromInput(form[name].value);
    if (value) query.set(name, value);
  }
  if (session.key.role === 'admin' && form.tenant.value.trim()) query.set('tenant', form.tenant.value.trim());
  return query;
}

function row(event) {
  const tr = element('tr', null, { 'data-audit-id': String(event.id) });
  [['Time (UTC)', event.time.replace('T', ' ').replace('Z', '')],
    ['Actor', event.actor_prefix || event.actor_key_id || '—'], ['Action', event.action],
    ['Target', event.target || ''], ['Outcome', `${event.outcome} (${event.status})`],
    ['Source', event.source_address || '']]
    .forEach(([label, value]) => tr.append(element('td', value, { 'data-label': label })));
  return tr;
}

async function load(more) {
  const error = document.getElementById('audit-error');
  error.textContent = '';
  const query = params();
  document.getElementById('audit-csv').href = `/admin/audit?${query}&format=csv`;
  if (more && next !== null) query.set('before', String(next));
  query.set('limit', '100');
  try {
    const page = await api('GET', `/admin/audit?${query}`);
    const rows = page.data.map(row);
    const body = document.getElementById('audit-rows');
    if (more) {
      body.append(...rows);
    } else {
      body.replaceChildren(...rows);
    }
    next = page.next;
    document.getElementById('audit-more').hidden = next === null || next === undefined;
  } catch (e) {
    error.textContent = e.message;
  }
}

export function showAudit(current) {
  session = current;
  document.getElementById('audit-tenant-field').hidden = session.key.role !== 'admin';
  return load(false);
}

document.getElementById('audit-form').addEventListener('submit', (event) => {
  event.preventDefault();
  load(false);
});
document.getElementById('audit-more').addEventListener('click', () => load(true));
