import { api, element } from './api.js';

function utc(seconds) {
  return seconds ? new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '') : '';
}

async function detail(job) {
  const section = document.getElementById('job-detail');
  document.getElementById('job-detail-title').textContent = `Job ${job.id}: ${job.status}`;
  const metrics = document.getElementById('job-metrics');
  metrics.replaceChildren();
  for (const [name, value] of Object.entries(job.metrics || {})) {
    if (typeof value !== 'object') {
      metrics.append(element('dt', name), element('dd', value));
    }
  }
  if (job.error && job.error.message) {
    metrics.append(element('dt', 'error'), element('dd', job.error.message));
  }
  const events = await api('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(job.id)}/events?limit=100`);
  document.getElementById('job-events').replaceChildren(...events.data.slice().reverse().map((event) =>
    element('li', `${utc(event.created_at)} ${event.level}: ${event.message}`)));
  section.hidden = false;
}

export async function showJobs() {
  const error = document.getElementById('jobs-error');
  error.textContent = '';
  try {
    const jobs = await api('GET', '/v1/fine_tuning/jobs?limit=100');
    document.getElementById('job-rows').replaceChildren(...jobs.data.map((job) => {
      const tr = element('tr', null, { 'data-job-id': job.id });
      const open = element('button', job.id, { type: 'button', class: 'link',
        'aria-label': `Show job ${job.id}` });
      open.addEventListener('click', () => detail(job).catch((e) => { error.textContent = e.message; }));
      const first = element('td', null, { 'data-label': 'Job' });
      first.append(open);
      tr.append(first);
      [['Method', job.method ? job.method.type : ''], ['Base model', job.model], ['Status', job.status],
        ['Created (UTC)', utc(job.created_at)], ['Model made', job.fine_tuned_model || '']]
        .forEach(([label, value]) => tr.append(element('td', value, { 'data-label': label })));
      return tr;
    }));
  } catch (e) {
    error.textContent = e.message;
  }
}
