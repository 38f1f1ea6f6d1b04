import { api, ApiError, setSession } from './api.js';
import { showKeys } from './keys.js';
import { showUsage } from './usage.js';
import { showInvoices } from './invoices.js';
import { showAudit } from './audit.js';
import { showJobs } from './jobs.js';

const signIn = document.getElementById('sign-in');
const nav = document.getElementById('nav');
const pages = { keys: showKeys, usage: showUsage, invoices: showInvoices, jobs: showJobs, audit: showAudit };
let session = null;

function signedOut() {
  session = null;
  setSession(null);
  nav.hidden = true;
  Object.keys(pages).forEach((page) => { document.getElementById(page).hidden = true; });
  signIn.hidden = false;
  document.getElementById('api-key').focus();
}

// the page the address names (#keys, #usage, #invoices, #jobs, #audit), the keys page by default
async function route() {
  if (!session) {
    return;
  }
  const page = Object.hasOwn(pages, location.hash.slice(1)) ? location.hash.slice(1) : 'keys';
  for (const name of Object.keys(pages)) {
    document.getElementById(name).hidden = name !== page;
    const link = nav.querySelector(`a[href="#${name}"]`);
    if (name === page) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
  try {
    await pages[page](session, signedOut);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signedOut();
    }
  }
}

async function signedIn(current) {
  session = current;
  setSession(current);
  signIn.hidden = true;
  nav.hidden = false;
  const key = current.key;
  document.getElementById('who').textContent =
    `${key.name} (${key.role}${key.tenant ? `, tenant ${key.tenant}` : ''})`;
  await route();
}

window.addEventListener('hashchange', route);

document.getElementById('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('api-key');
  const error = document.getElementById('sign-in-error');
  error.textContent = '';
  try {
    const current = await api('POST', '/console/session', { key: input.value });
    input.value = '';
    await signedIn(current);
  } catch (e) {
    error.textContent = e instanceof ApiError && e.status === 401 ? 'That key is not valid.' : e.message;
  }
});

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api('DELETE', '/console/session');
  } finally {
    signedOut();
  }
});

try {
  await signedIn(await api('GET', '/console/session'));
} catch (e) {
  signedOut();
}
