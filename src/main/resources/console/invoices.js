import { api, element } from './api.js';

let session = null;

function params() {
  const form = document.getElementById('invoice-form');
  const query = new URLSearchParams({ month: form.month.value });
  const tenant = session.key.role === 'admin' ? form.tenant.value.trim() : session.key.tenant;
  if (tenant) query.set('tenant', tenant);
  return query;
}

export async function refreshInvoice() {
  const error = document.getElementById('invoice-error');
  error.textContent = '';
  const query = params();
  document.getElementById('invoice-csv').href = `/admin/invoices?${query}&format=csv`;
  try {
    const invoice = await api('GET', `/admin/invoices?${query}`);
    document.getElementById('invoice-caption').textContent =
      `Invoice of tenant ${invoice.tenant} for ${invoice.month} (UTC)`;
    document.getElementById('invoice-rows').replaceChildren(...invoice.lines.map((line) => {
      const tr = element('tr');
      [['Model', line.model], ['Meter', line.meter], ['Quantity', line.quantity], ['Unit', line.unit],
        ['Unit price', `${line.unit_price} ${line.currency}`], ['Amount', `${line.amount} ${line.currency}`]]
        .forEach(([label, value]) => tr.append(element('td', value, { 'data-label': label })));
      return tr;
    }));
    const totals = Object.entries(invoice.subtotals || {}).map(([currency, amount]) => `${amount} ${currency}`);
    document.getElementById('invoice-total').textContent = `Total: ${totals.length ? totals.join(', ') : '0'}`;
  } catch (e) {
    error.textContent = e.message;
  }
}

export function showInvoices(current) {
  session = current;
  document.getElementById('invoice-tenant-field').hidden = session.key.role !== 'admin';
  const form = document.getElementById('invoice-form');
  if (!form.month.value) {
    form.month.value = new Date().toISOString().slice(0, 7);
  }
  return refreshInvoice();
}

document.getElementById('invoice-form').addEventListener('submit', (event) => {
  event.preventDefault();
  refreshInvoice();
});
