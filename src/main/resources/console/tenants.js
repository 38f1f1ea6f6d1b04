import { api, limitsText, row, utc } from './api.js';

async function refresh() {
  const [tenants, prices] = await Promise.all([api('GET', '/admin/tenants'), api('GET', '/admin/prices')]);
  document.getElementById('tenant-rows').replaceChildren(...tenants.tenants.map((tenant) => row([
    ['Name', tenant.name], ['Id', tenant.id], ['Limits', limitsText(tenant.limits, 'server defaults')],
    ['Signed uploads', tenant.require_signed_uploads ? 'required' : 'not required'],
    ['Created (UTC)', utc(tenant.created_at)]], { 'data-tenant-id': tenant.id })));
  const newest = prices.prices.slice().sort((a, b) => b.id - a.id);
  document.getElementById('price-rows').replaceChildren(...newest.map((price) => row([
    ['Model', price.model], ['Tenant', price.tenant || 'every tenant'], ['Per 1M input', price.input_per_1m],
    ['Per 1M output', price.output_per_1m], ['Per request', price.per_request],
    ['Per compute-second', price.per_compute_second], ['Currency', price.currency],
    ['Effective from (UTC)', utc(price.effective_from)]], { 'data-price-id': price.id })));
}

function fail(e) {
  document.getElementById('tenants-error').textContent = e.message;
}

export async function showTenants() {
  document.getElementById('tenants-error').textContent = '';
  await refresh();
}

function positive(form, names) {
  const body = {};
  for (const name of names) {
    if (form.elements[name].value.trim() !== '') {
      body[name] = Number(form.elements[name].value);
    }
  }
  return body;
}

document.getElementById('tenant-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  document.getElementById('tenants-error').textContent = '';
  const form = event.target;
  try {
    await api('POST', '/admin/tenants', { name: form.name.value.trim(),
      ...positive(form, ['rpm', 'tpm', 'max_concurrent']) });
    form.reset();
    await refresh();
  } catch (e) {
    fail(e);
  }
});

document.getElementById('price-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  document.getElementById('tenants-error').textContent = '';
  const form = event.target;
  // amounts stay decimal text: the server keeps them exact
  const body = { model: form.model.value.trim(), currency: form.currency.value.trim().toUpperCase() };
  for (const name of ['input_per_1m', 'output_per_1m', 'per_request', 'per_compute_second']) {
    body[name] = form.elements[name].value.trim() || '0';
  }
  if (form.tenant.value.trim()) {
    body.tenant = form.tenant.value.trim();
  }
  try {
    await api('POST', '/admin/prices', body);
    await refresh();
  } catch (e) {
    fail(e);
  }
});
