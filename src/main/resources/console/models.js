import { api, ApiError, element, live, mib, ms, row, stopLive, utc } from './api.js';

let session = null;
let current = null;

const path = (name) => `/admin/models/${encodeURIComponent(name)}`;

function manages() {
  return session && (session.key.role === 'admin' || session.key.role === 'owner');
}

// whether the sign-in may change this model: the platform admin any, an owner its tenant's
function mayChange(model) {
  return session.key.role === 'admin' || (session.key.role === 'owner' && model.tenant === session.key.tenant);
}

function aliasText(model) {
  return Object.entries(model.aliases).map(([alias, version]) => {
    const split = model.splits[alias];
    return split && split.split ? `${alias} → ${splitText(split.split)}` : `${alias} → ${version}`;
  }).join(', ');
}

function splitText(split) {
  return Object.entries(split).map(([version, weight]) => `${version} (${weight} %)`).join(', ');
}

function schedulingText(scheduling) {
  const set = Object.entries(scheduling || {}).filter(([, value]) => value !== null);
  return set.length ? set.map(([name, value]) => `${name} ${value}`).join(', ') : 'defaults';
}

function status(text) {
  document.getElementById('model-status').textContent = text;
}

function failed(e) {
  document.getElementById('model-error').textContent = e.message;
  if (e instanceof ApiError && e.status === 401) {
    throw e;
  }
}

function button(text, label, action, attributes = {}) {
  const node = element('button', text, { type: 'button', class: 'inline', 'aria-label': label, ...attributes });
  node.addEventListener('click', async () => {
    document.getElementById('model-error').textContent = '';
    try {
      await action();
    } catch (e) {
      failed(e);
    }
  });
  return node;
}

function options(select, values, selected) {
  select.replaceChildren(...values.map((value) => {
    const option = element('option', value, { value });
    if (String(value) === String(selected)) {
      option.selected = true;
    }
    return option;
  }));
}

function comparisonTable(rollout) {
  const table = element('table', null, { 'data-rollout-comparison': rollout.alias });
  table.append(element('caption', `Live comparison over ${rollout.comparison.window}`));
  const head = element('thead');
  const header = element('tr');
  ['Side', 'Version', 'Calls', 'Errors', 'Error rate', 'p50', 'p99'].forEach((name) =>
    header.append(element('th', name, { scope: 'col' })));
  head.append(header);
  const body = element('tbody');
  for (const side of ['baseline', 'canary']) {
    const figures = rollout.comparison[side];
    body.append(row([['Side', side], ['Version', figures.version], ['Calls', figures.calls],
      ['Errors', figures.errors], ['Error rate', `${(100 * figures.error_rate).toFixed(1)} %`],
      ['p50', ms(figures.p50_ms)], ['p99', ms(figures.p99_ms)]], { 'data-side': side }));
  }
  table.append(head, body);
  return table;
}

function rolloutSection(model, rollout) {
  const section = element('section', null, { 'data-rollout': rollout.alias, 'data-rollout-key': rolloutKey(rollout),
    'aria-label': `Rollout of ${model.name}:${rollout.alias}` });
  section.append(element('p', `${rollout.alias}: version ${rollout.canary} over ${rollout.baseline}, `
    + `${rollout.state} at ${rollout.weight} % (steps ${rollout.plan.steps.join(', ')} every ${rollout.plan.interval})`,
  { 'data-rollout-state': rollout.state }));
  if (rollout.comparison) {
    section.append(comparisonTable(rollout));
  }
  const steps = element('ol', null, { 'aria-label': 'Steps, oldest first' });
  rollout.steps.forEach((step) => steps.append(element('li', `${utc(step.at)} ${step.action} at ${step.weight} %`
    + `${step.detail && step.detail.reason ? `: ${step.detail.reason}` : ''}`)));
  section.append(steps);
  if (rollout.state === 'running' && mayChange(model)) {
    const target = `${path(model.name)}/aliases/${encodeURIComponent(rollout.alias)}/rollout`;
    section.append(button('Promote', `Promote the rollout of ${model.name}:${rollout.alias}`, async () => {
      await api('POST', `${target}/promote`);
      status(`Promoted version ${rollout.canary} on ${rollout.alias}.`);
      await showModels(session);
    }), button('Abort', `Abort the rollout of ${model.name}:${rollout.alias}`, async () => {
      await api('POST', `${target}/abort`);
      status(`Aborted the rollout on ${rollout.alias}.`);
      await showModels(session);
    }, { class: 'inline danger' }));
  }
  return section;
}

async function rollouts(model) {
  const found = [];
  for (const alias of Object.keys(model.aliases).filter((name) => name !== 'latest')) {
    try {
      found.push(await api('GET', `${path(model.name)}/aliases/${encodeURIComponent(alias)}/rollout`));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) {
        throw e;
      }
    }
  }
  return found;
}

async function drawRollouts(model) {
  const found = await rollouts(model);
  const container = document.getElementById('rollouts');
  container.replaceChildren(...(found.length ? found.map((rollout) => rolloutSection(model, rollout))
    : [element('p', 'No rollout on any alias of this model.')]));
  return found.some((rollout) => rollout.state === 'running');
}

// a live refresh: only the comparison tables change while their rollouts keep their state and steps (so that
// focus stays on a button); anything else redraws the rollouts
async function refreshRollouts(model) {
  const found = await rollouts(model);
  const same = found.every((rollout) => {
    const section = document.querySelector(`#rollouts [data-rollout="${CSS.escape(rollout.alias)}"]`);
    return section && section.dataset.rolloutKey === rolloutKey(rollout);
  });
  if (!same) {
    await drawRollouts(model);
    return;
  }
  for (const rollout of found.filter((r) => r.comparison)) {
    const table = document.querySelector(`#rollouts [data-rollout-comparison="${CSS.escape(rollout.alias)}"]`);
    if (table) {
      table.replaceWith(comparisonTable(rollout));
    }
  }
}

function rolloutKey(rollout) {
  return `${rollout.id}:${rollout.state}:${rollout.weight}:${rollout.steps.length}`;
}

async function open(name) {
  stopLive();
  document.getElementById('model-error').textContent = '';
  const [model, versions, loaded] = await Promise.all([api('GET', path(name)),
    api('GET', `${path(name)}/versions`), api('GET', '/admin/loaded')]);
  current = model;
  const changeable = mayChange(model);
  document.getElementById('model-detail-title').textContent =
    `${model.name} (${model.task}, ${model.engine}${model.tenant ? `, tenant ${model.tenant}` : ''})`;
  const memory = new Map(loaded.data.filter((v) => v.model === model.name).map((v) => [v.version, v]));
  document.getElementById('version-rows').replaceChildren(...versions.versions.map((version) => {
    const resident = memory.get(version.version);
    const tr = row([['Version', version.version], ['Created (UTC)', utc(version.created_at)],
      ['Size', version.artifact ? mib(version.artifact.size_bytes) : '—'], ['Aliases', version.aliases.join(', ')],
      ['Loaded', resident ? `yes, ${mib(resident.bytes)}${resident.pinned ? ', pinned' : ''}`
        : (version.loaded ? 'yes' : 'no')],
      ['Scheduling', schedulingText(version.scheduling)]], { 'data-version': version.version });
    const actions = element('td', null, { 'data-label': 'Actions' });
    if (changeable) {
      const target = `${path(model.name)}/versions/${version.version}`;
      actions.append(version.loaded
        ? button('Unload', `Unload version ${version.version}`, async () => {
          await api('POST', `${target}/unload`);
          status(`Unloaded version ${version.version}.`);
          await open(model.name);
        })
        : button('Load', `Load version ${version.version}`, async () => {
          status(`Loading version ${version.version}…`);
          await api('POST', `${target}/load`);
          status(`Loaded version ${version.version}.`);
          await open(model.name);
        }));
    }
    tr.append(actions);
    return tr;
  }));
  document.getElementById('alias-rows').replaceChildren(...Object.entries(model.aliases).map(([alias, version]) => {
    const split = model.splits[alias];
    return row([['Alias', alias], ['Versions (weight)', split && split.split ? splitText(split.split) : `${version}`],
      ['Sticky', split ? split.sticky : 'none']], { 'data-alias': alias });
  }));
  const numbers = versions.versions.map((v) => v.version);
  options(document.getElementById('scheduling-version'), numbers, numbers[numbers.length - 1]);
  fillScheduling(versions.versions[versions.versions.length - 1]);
  options(document.getElementById('rollout-alias'), Object.keys(model.aliases).filter((a) => a !== 'latest'));
  options(document.getElementById('rollout-version'), numbers, numbers[numbers.length - 1]);
  const residentOne = [...memory.values()][0];
  document.getElementById('residency-pinned').checked = Boolean(residentOne && residentOne.pinned);
  document.getElementById('residency-keep-alive').value = residentOne && residentOne.keep_alive !== null
    ? String(residentOne.keep_alive) : '';
  document.querySelectorAll('#model-detail .manage').forEach((node) => { node.hidden = !changeable; });
  document.getElementById('model-detail').hidden = false;
  if (await drawRollouts(model)) {
    // a running rollout's comparison, live
    live(3000, () => refreshRollouts(model).catch(failed));
  }
}

function fillScheduling(version) {
  const form = document.getElementById('scheduling-form');
  for (const name of ['max_batch_size', 'max_queue_delay_us', 'instances', 'queue_capacity', 'deadline_ms']) {
    const value = version && version.scheduling ? version.scheduling[name] : null;
    form.elements[name].value = value === null || value === undefined ? '' : String(value);
  }
}

export async function showModels(signedIn) {
  session = signedIn;
  const error = document.getElementById('models-error');
  error.textContent = '';
  const list = await api('GET', '/admin/models');
  document.getElementById('model-rows').replaceChildren(...list.models.map((model) => {
    const tr = element('tr', null, { 'data-model': model.name });
    const first = element('td', null, { 'data-label': 'Model' });
    const link = element('button', model.name, { type: 'button', class: 'link', 'aria-label': `Open ${model.name}` });
    link.addEventListener('click', () => open(model.name).catch((e) => { error.textContent = e.message; }));
    first.append(link);
    tr.append(first);
    [['Tenant', model.tenant || 'platform'], ['Task', model.task], ['Engine', model.engine],
      ['Versions', model.versions.join(', ')], ['Aliases', aliasText(model)]]
      .forEach(([label, value]) => tr.append(element('td', value, { 'data-label': label })));
    return tr;
  }));
  if (current && list.models.some((model) => model.name === current.name)) {
    await open(current.name);
  } else {
    document.getElementById('model-detail').hidden = true;
  }
  document.querySelectorAll('#models .manage').forEach((node) => { node.hidden = !manages(); });
}

async function submit(event, action) {
  event.preventDefault();
  document.getElementById('model-error').textContent = '';
  try {
    await action(event.target);
    await showModels(session);
  } catch (e) {
    failed(e);
  }
}

// "3" names a version; "2=90,3=10" a split
export function aliasBody(text, sticky) {
  if (/^\s*\d+\s*$/.test(text)) {
    return { version: Number(text) };
  }
  const split = {};
  for (const part of text.split(',')) {
    const [version, weight] = part.split('=').map((s) => s.trim());
    split[version] = Number(weight);
  }
  return { split, sticky };
}

function optionalNumber(value) {
  return value.trim() === '' ? undefined : Number(value);
}

document.getElementById('alias-form').addEventListener('submit', (event) => submit(event, async (form) => {
  const alias = form.alias.value.trim();
  await api('PUT', `${path(current.name)}/aliases/${encodeURIComponent(alias)}`,
    aliasBody(form.split.value, form.sticky.value));
  status(`Alias ${alias} saved.`);
}));

document.getElementById('scheduling-version').addEventListener('change', async (event) => {
  const versions = await api('GET', `${path(current.name)}/versions`);
  fillScheduling(versions.versions.find((v) => String(v.version) === event.target.value));
});

document.getElementById('scheduling-form').addEventListener('submit', (event) => submit(event, async (form) => {
  const body = {};
  for (const name of ['max_batch_size', 'max_queue_delay_us', 'instances', 'queue_capacity', 'deadline_ms']) {
    const value = optionalNumber(form.elements[name].value);
    if (value !== undefined) {
      body[name] = value;
    }
  }
  await api('PUT', `${path(current.name)}/versions/${form.version.value}/scheduling`, body);
  status(`Scheduling of version ${form.version.value} saved.`);
}));

document.getElementById('residency-form').addEventListener('submit', (event) => submit(event, async (form) => {
  const keepAlive = form.keep_alive.value.trim();
  const body = { pinned: form.pinned.checked };
  if (keepAlive) {
    body.keep_alive = /^-?\d+$/.test(keepAlive) ? Number(keepAlive) : keepAlive;
  }
  await api('PUT', `${path(current.name)}/residency`, body);
  status('Residency saved.');
}));

document.getElementById('rollout-form').addEventListener('submit', (event) => submit(event, async (form) => {
  const body = { version: Number(form.version.value),
    steps: form.steps.value.split(',').map((s) => Number(s.trim())),
    interval: form.interval.value.trim(), window: form.window.value.trim() };
  await api('POST', `${path(current.name)}/aliases/${encodeURIComponent(form.alias.value)}/rollout`, body);
  status(`Rollout of version ${body.version} on ${form.alias.value} started.`);
}));
