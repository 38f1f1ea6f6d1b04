import { api, ApiError, element, fromInput, limitsText, utc } from './api.js';

let onSignedOut = () => {};

function handle(e, errorNode) {
  if (e instanceof ApiError && e.status === 401) {
    onSignedOut();
  } else if (errorNode) {
    errorNode.textContent = e.message;
  }
}

function statusText(key) {
  if (key.revoked) {
    return 'revoked';
  }
  return key.expires_at && Date.parse(key.expires_at) <= Date.now() ? 'expired' : 'active';
}

function row(key, budget) {
  const tr = element('tr', null, { 'data-key-id': key.id });
  const cells = [['Name', key.name], ['Prefix', key.prefix], ['Role', key.role], ['Tenant', key.tenant || '—'],
    ['Models', key.models && key.models.length ? key.models.join(', ') : 'all'],
    ['Limits', limitsText(key.limits || {}, "the tenant's")],
    ['Budget this month', budget ? `${budget.spent} of ${budget.monthly_limit} ${budget.currency}` : 'none'],
    ['Created (UTC)', utc(key.created_at)], ['Expires (UTC)', key.expires_at ? utc(key.expires_at) : 'never'],
    ['Status', statusText(key)]];
  for (const [label, value] of cells) {
    tr.append(element('td', value, { 'data-label': label }));
  }
  const actions = element('td', null, { 'data-label': 'Actions' });
  if (!key.revoked) {
    const revoke = element('button', 'Revoke', { type: 'button', class: 'danger',
      'aria-label': `Revoke key ${key.name} (${key.prefix})` });
    revoke.addEventListener('click', async () => {
      if (!window.confirm(`Revoke ${key.name}? Requests with it are refused at once.`)) {
        return;
      }
      try {
        await api('DELETE', `/admin/keys/${encodeURIComponent(key.id)}`);
        await refresh();
      } catch (e) {
        handle(e, document.getElementById('create-key-error'));
      }
    });
    actions.append(revoke);
  }
  tr.append(actions);
  return tr;
}

async function refresh() {
  const [list, budgets] = await Promise.all([api('GET', '/admin/keys'), api('GET', '/admin/budgets')]);
  const byKey = new Map(budgets.budgets.filter((budget) => budget.key).map((budget) => [budget.key, budget]));
  document.getElementById('key-rows').replaceChildren(...list.keys.map((key) => row(key, byKey.get(key.id))));
}

export async function showKeys(session, signedOut) {
  onSignedOut = signedOut;
  const tenant = document.getElementById('key-tenant');
  const isAdmin = session.key.role === 'admin';
  tenant.hidden = !isAdmin;
  document.querySelector('label[for="key-tenant"]').hidden = !isAdmin;
  try {
    await refresh();
  } catch (e) {
    handle(e, document.getElementById('create-key-error'));
  }
}

document.getElementById('create-key').addEventListener('submit', async (event) => {
  event.preventDefault();
  const error = document.getElementById('create-key-error');
  error.textContent = '';
  const form = event.target;
  const body = { name: form.name.value, role: form.role.value };
  if (form.tenant.value.trim() && !form.tenant.hidden) {
    body.tenant = form.tenant.value.trim();
  }
  const models = form.models.value.split(',').map((m) => m.trim()).filter((m) => m);
  if (models.length) {
    body.models = models;
  }
  for (const name of ['rpm', 'tpm', 'max_concurrent']) {
    if (form.elements[name].value.trim() !== '') {
      body[name] = Number(form.elements[name].value);
    }
  }
  const expires = fromInput(form.expires_at.value);
  if (expires) {
    body.expires_at = expires;
  }
  const budget = form.budget.value.trim();
  if (budget) {
    // made with the key, or neither is made
    body.budget = { monthly_limit: budget, currency: form.currency.value.trim().toUpperCase() };
  }
  try {
    const created = await api('POST', '/admin/keys', body);
    document.getElementById('new-secret-value').textContent = created.key;
    const shown = document.getElementById('new-secret');
    shown.hidden = false;
    document.getElementById('new-secret-done').focus();
    form.reset();
    await refresh();
  } catch (e) {
    handle(e, error);
  }
});

document.getElementById('new-secret-done').addEventListener('click', () => {
  document.getElementById('new-secret-value').textContent = '';
  document.getElementById('new-secret').hidden = true;
});
