import { randomUUID } from 'node:crypto';
import { test, expect, signIn, addDomain, uniqueDomain, hydrated, rowWith } from './fixtures';
import type { Page } from '@playwright/test';

// The Google emulator started by ./dev test stands in for Google: each test loads a Workspace
// of its own (its own customer id and domain) through the emulator's control API.
const google = process.env.ROSTER_E2E_GOOGLE_EMULATOR_URL ?? 'http://127.0.0.1:4120';

type Workspace = { customerId: string; domain: string; admin: string };

/** A Workspace owning `domain`: a super admin, two users (one with an alias), a group. */
async function createWorkspace(domain: string): Promise<Workspace> {
  const customerId = `C0${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  const admin = `admin@${domain}`;
  const body = {
    customerId,
    primaryDomain: domain,
    users: [
      { id: '1', primaryEmail: admin, givenName: 'Ada', familyName: 'Admin', isAdmin: true },
      { id: '2', primaryEmail: `alice@${domain}`, givenName: 'Alice', familyName: 'Example', aliases: [`alice.example@${domain}`] },
      { id: '3', primaryEmail: `bob@${domain}`, givenName: 'Bob', familyName: 'Builder' },
    ],
    groups: [{ id: `g${customerId}`, email: `sales@${domain}`, name: 'Sales', members: [`alice@${domain}`, `bob@${domain}`] }],
  };
  const response = await fetch(`${google}/_emulator/workspaces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(201);
  return { customerId, domain, admin };
}

/** Adds `count` users to the Workspace (so that a sync lasts long enough to watch). */
async function addUsers(ws: Workspace, count: number) {
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${google}/_emulator/workspaces/${ws.customerId}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `u${i}`, primaryEmail: `user${i}@${ws.domain}`, givenName: 'User', familyName: `${i}` }),
    });
    expect(response.ok, await response.text()).toBe(true);
  }
}

async function setFaults(faults: object) {
  const response = await fetch(`${google}/_emulator/faults`, {
    method: faults && Object.keys(faults).length ? 'PUT' : 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: Object.keys(faults).length ? JSON.stringify(faults) : undefined,
  });
  expect(response.ok, await response.text()).toBe(true);
}

function connection(page: Page) {
  return page.getByRole('region', { name: 'Google Workspace connection' });
}

function syncPanel(page: Page) {
  return page.getByRole('region', { name: 'Synchronize' });
}

async function openGoogleSync(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Google Workspace Sync' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Google Workspace Sync' })).toBeVisible();
  await hydrated(page);
}

/** From the Google Workspace Sync page through the emulator's consent screen, as `account`. */
async function grant(page: Page, account: string, decision: 'Allow' | 'Cancel') {
  await connection(page).getByRole('button', { name: 'Grant permission' }).click();
  await expect(page.getByRole('heading', { name: 'Roster wants to access your Google Account' })).toBeVisible();
  expect(new URL(page.url()).pathname).toBe('/o/oauth2/v2/auth');
  await page.getByLabel(account).check();
  await page.getByRole('button', { name: decision }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Google Workspace Sync' })).toBeVisible();
  await hydrated(page);
}

test('grant permission, Test Connection, Manual Sync with live progress and the history', async ({ page, login }) => {
  const domain = uniqueDomain('gws');
  const ws = await createWorkspace(domain);
  await addUsers(ws, 40);
  await signIn(page, login);
  await addDomain(page, domain, 'Google Workspace');
  await openGoogleSync(page);

  // Cancelled first: explained, nothing stored.
  await grant(page, ws.admin, 'Cancel');
  await expect(connection(page).getByRole('alert')).toContainText('the consent screen was cancelled at Google');
  await expect(connection(page).getByRole('button', { name: 'Grant permission' })).toBeVisible();

  await grant(page, ws.admin, 'Allow');
  await expect(connection(page).getByRole('status').filter({ hasText: /^Permission granted:/ })).toBeVisible();
  await expect(connection(page)).toContainText(`Connected to the Google Workspace ${domain} (${ws.customerId}), permission granted by ${ws.admin}`);

  await connection(page).getByRole('button', { name: 'Test Connection' }).click();
  const tested = page.getByRole('region', { name: 'Test Connection' });
  await expect(tested.getByRole('status')).toContainText('Connection works.');
  const sample = tested.getByRole('table', { name: 'First accounts' });
  await expect(sample).toContainText(`alice@${domain}`);
  await expect(sample).toContainText(`alice.example@${domain}`);

  // Slow the Directory API down so that the run lasts long enough to watch its bar.
  await setFaults({ latencyMs: 1000 });
  try {
    await syncPanel(page).getByRole('button', { name: 'Manual Sync' }).click();
    await expect(syncPanel(page).getByRole('progressbar', { name: 'Sync progress' })).toBeVisible();
    await expect(syncPanel(page).getByRole('button', { name: 'Manual Sync' })).toBeDisabled();
  } finally {
    await setFaults({});
  }
  const ended = syncPanel(page).getByRole('status').filter({ hasText: /^Last sync \(/ });
  // 3 users + 40 added + the Sales list.
  await expect(ended).toContainText('+44 accounts', { timeout: 30_000 });
  await expect(syncPanel(page).getByRole('button', { name: 'Manual Sync' })).toBeEnabled();
  const history = page.getByRole('region', { name: 'Sync History' }).getByRole('table');
  await expect(rowWith(history, login.email)).toContainText(/\+44 accounts/);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).toHaveText('44 accounts');
});

test('Disconnect asks first, then revokes the permission and offers to grant again', async ({ page, login }) => {
  const domain = uniqueDomain('gwsd');
  const ws = await createWorkspace(domain);
  await signIn(page, login);
  await addDomain(page, domain, 'Google Workspace');
  await openGoogleSync(page);
  await grant(page, ws.admin, 'Allow');
  await expect(connection(page)).toContainText('Connected to the Google Workspace');

  await connection(page).getByRole('button', { name: 'Disconnect' }).click();
  const dialog = page.getByRole('dialog', { name: `Disconnect from the Google Workspace ${domain}?` });
  await expect(dialog).toContainText('revokes its permission at Google');
  await dialog.getByRole('button', { name: 'Disconnect' }).click();
  await expect(connection(page).getByRole('button', { name: 'Grant permission' })).toBeVisible();
  const grants = await (await fetch(`${google}/_emulator/grants`)).json();
  const mine = grants.filter((g: { customerId: string }) => g.customerId === ws.customerId);
  expect(mine.length).toBe(1);
  expect(mine[0].revoked).toBe(true);
});
