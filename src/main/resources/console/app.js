import { api, ApiError, setSession } from './api.js';
import { showKeys } from './keys.js';

const signIn = document.getElementById('sign-in');
const nav = document.getElementById('nav');

function signedOut() {
  setSession(null);
  nav.hidden = true;
  document.getElementById('keys').hidden = true;
  signIn.hidden = false;
  document.getElementById('api-key').focus();
}

async function signedIn(session) {
  setSession(session);
  signIn.hidden = true;
  nav.hidden = false;
  const key = session.key;
  document.getElementById('who').textContent =
    `${key.name} (${key.role}${key.tenant ? `, tenant ${key.tenant}` : ''})`;
  await showKeys(session, signedOut);
}

document.getElementById('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('api-key');
  const error = document.getElementById('sign-in-error');
  error.textContent = '';
  try {
    const session = await api('POST', '/console/session', { key: input.value });
    input.value = '';
    await signedIn(session);
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
