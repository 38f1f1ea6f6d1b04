import { api, element, live, utc } from './api.js';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
let shown = null;

async function detail(id) {
  const [job, events] = await Promise.all([api('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`),
    api('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=100`)]);
  shown = job.id;
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
  document.getElementById('job-events').replaceChildren(...events.data.slice().reverse().map((event) =>
    element('li', `${utc(event.created_at)} ${event.level}: ${event.message}`)));
  document.getElementById('job-detail').hidden = false;
  return job;
}

let drawn = null;

// the rows, redrawn only when a job changed (a redraw would take the keyboard's focus off its button)
function rows(jobs, error) {
  const signature = JSON.stringify(jobs.data.map((job) => [job.id, job.status, job.fine_tuned_model]));
  if (signature === drawn) {
    return;
  }
  drawn = signature;
  document.getElementById('job-rows').replaceChildren(...jobs.data.map((job) => {
    const tr = element('tr', null, { 'data-job-id': job.id });
    const open = element('button', job.id, { type: 'button', class: 'link',
      'aria-label': `Show job ${job.id}` });
    open.addEventListener('click', () => detail(job.id).catch((e) => { error.textContent = e.message; }));
    const first = element('td', null, { 'data-label': 'Job' });
    first.append(open);
    tr.append(first);
    [['Method', job.method ? job.method.type : ''], ['Base model', job.model], ['Status', job.status],
      ['Created (UTC)', utc(job.created_at)], ['Model made', job.fine_tuned_model || '']]
      .forEach(([label, value]) => tr.append(element('td', value, { 'data-label': label })));
    return tr;
  }));
}

// the list, and the job shown, refreshed every 2 s while any of them is still queued or running
async function refresh(error) {
  const jobs = await api('GET', '/v1/fine_tuning/jobs?limit=100');
  rows(jobs, error);
  if (shown && jobs.data.some((job) => job.id === shown)) {
    await detail(shown);
  }
  document.getElementById('jobs-live').textContent = jobs.data.some((job) => !ENDED.has(job.status))
    ? 'Live: a running job is refreshed every 2 seconds.' : '';
}

export async function showJobs() {
  drawn = null;
  const error = document.getElementById('jobs-error');
  error.textContent = '';
  try {
    await refresh(error);
    live(2000, () => refresh(error));
  } catch (e) {
    error.textContent = e.message;
  }
}
