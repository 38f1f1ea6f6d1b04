import { api, ApiError, setSession, stopLive } from './api.js';
import { showKeys } from './keys.js';
import { showUsage } from './usage.js';
import { showInvoices } from './invoices.js';
import { showAudit } from './audit.js';
import { showJobs } from './jobs.js';
import { showModels } from './models.js';
import { showOverview } from './overview.js';
import { showTenants } from './tenants.js';

const signIn = document.getElementById('sign-in');
const nav = document.getElementById('nav');
const pages = { overview: showOverview, models: showModels, keys: showKeys, usage: showUsage,
  invoices: showInvoices, jobs: showJobs, audit: showAudit, tenants: showTenants };
// the pages each role can use, as the server's roles allow their APIs (the server checks again)
const rolePages = {
  admin: new Set(Object.keys(pages)),
  owner: new Set(Object.keys(pages).filter((page) => page !== 'tenants')),
  reader: new Set(['overview', 'models', 'usage', 'jobs']),
  member: new Set(['models', 'jobs']),
};
let session = null;

function signedOut() {
  stopLive();
  session = null;
  setSession(null);
  nav.hidden = true;
  Object.keys(pages).forEach((page) => { document.getElementById(page).hidden = true; });
  signIn.hidden = false;
  document.getElementById('api-key').focus();
}

function allowed(page) {
  return Object.hasOwn(pages, page) && (rolePages[session.key.role] || new Set()).has(page);
}

function firstPage() {
  return Object.keys(pages).find(allowed);
}

// the page the address names (#overview, #models, #keys, ...), the overview by default
async function route() {
  if (!session) {
    return;
  }
  stopLive();
  const page = allowed(location.hash.slice(1)) ? location.hash.slice(1) : firstPage();
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
    } else {
      const error = document.getElementById(`${page}-error`);
      if (error) {
        error.textContent = e.message;
      }
    }
  }
}

async function signedIn(current) {
  session = current;
  setSession(current);
  signIn.hidden = true;
  nav.hidden = false;
  nav.querySelectorAll('a').forEach((link) => { link.hidden = !allowed(link.getAttribute('href').slice(1)); });
  const key = current.key;
  document.getElementById('who').textContent =
    `${key.name} (${key.role}${key.tenant ? `, tenant ${key.tenant}` : ''})`;
  await route();
}

window.addEventListener('hashchange', route);

// the skip link moves focus to the content, leaving the address (and so the page shown) as it is
document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main').focus();
});

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
