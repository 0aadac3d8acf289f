import { readFileSync } from 'node:fs';
import { test, expect, signIn, addDomain, uniqueDomain, hydrated, rowWith } from './fixtures';
import { createTenant, generateTenant, openSync, grantPermission, setFaults, setAccountEnabled } from './m365';
import type { Page } from '@playwright/test';

function syncPanel(page: Page) {
  return page.getByRole('region', { name: 'Synchronize' });
}

function history(page: Page) {
  return page.getByRole('region', { name: 'Sync History' }).getByRole('table');
}

/** The latest run's outcome in the Synchronize panel, once it has ended. */
function lastRun(page: Page, kind: 'sync' | 'test sync') {
  return syncPanel(page).getByRole('status').filter({ hasText: new RegExp(`^Last ${kind} \\(`) });
}

/** Signs in, adds `domain` as Office 365 and connects it to `tenant` on Office 365 Sync. */
async function connectedDomain(page: Page, login: { email: string; password: string; org: string }, tenant: { id: string; name: string; domain: string }) {
  await signIn(page, login);
  await addDomain(page, tenant.domain, 'Office 365');
  await openSync(page);
  await grantPermission(page, tenant, 'Accept');
  await expect(page.getByRole('region', { name: 'Microsoft 365 connection' })).toContainText(`Connected to ${tenant.name}`);
}

test('Manual Sync shows the bar moving, then the summary and the history', async ({ page, login }) => {
  const domain = uniqueDomain('sync');
  const tenant = await generateTenant(domain, 600, 12);
  await connectedDomain(page, login, tenant);
  await expect(history(page)).toContainText('Nothing found');

  // Slow Graph down so the run lasts a few seconds (faults apply to the whole emulator).
  await setFaults({ latencyMs: 300, pathKinds: ['users', 'groups', 'members'] });
  try {
    await syncPanel(page).getByRole('button', { name: 'Manual Sync' }).click();
    const bar = syncPanel(page).getByRole('progressbar', { name: 'Sync progress' });
    await expect(bar).toBeVisible();
    await expect(syncPanel(page).getByRole('button', { name: 'Manual Sync' })).toBeDisabled();
    // Watch the bar, pushed by the server, until the run ends.
    const seen = new Set<string>();
    const phases = new Set<string>();
    const ended = lastRun(page, 'sync');
    for (let i = 0; i < 600 && !(await ended.isVisible()); i++) {
      const value = await bar.getAttribute('aria-valuenow', { timeout: 200 }).catch(() => null);
      const text = await bar.getAttribute('aria-valuetext', { timeout: 200 }).catch(() => null);
      if (value) seen.add(value);
      if (text) phases.add(text.replace(/[\d,]+/g, 'N'));
      await page.waitForTimeout(100);
    }
    expect(seen.size, `progress values seen: ${[...seen].join(', ')}`).toBeGreaterThanOrEqual(2);
    expect([...phases].some((p) => p.startsWith('Fetching'))).toBe(true);
  } finally {
    await setFaults({});
  }
  await expect(lastRun(page, 'sync')).toContainText(/\+\d+ accounts/);
  await expect(syncPanel(page).getByRole('button', { name: 'Manual Sync' })).toBeEnabled();

  // The history shows the run without a reload: who, not a test, its summary.
  const row = rowWith(history(page), login.email);
  await expect(row).toContainText('No');
  await expect(row).toContainText(/\+\d+ accounts, \+\d+ aliases/);

  // The accounts are there, read-only.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).not.toHaveText('0 accounts');
  await expect(page.getByRole('main')).toContainText('Accounts from a directory sync are read-only');
});

test('Test Sync lists the planned changes, downloads them, and changes nothing', async ({ page, login }) => {
  const domain = uniqueDomain('tsync');
  const tenant = await createTenant(domain);
  await connectedDomain(page, login, tenant);

  await syncPanel(page).getByRole('button', { name: 'Test Sync' }).click();
  await expect(lastRun(page, 'test sync')).toContainText('+4 accounts, +1 alias, 1 list changed');
  const row = rowWith(history(page), login.email);
  await expect(row).toContainText('Yes');

  await row.getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1, name: /^Test Sync of / })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole('main')).toContainText('Test Sync: nothing was applied.');
  const changes = page.getByRole('region', { name: 'Changes', exact: true });
  await expect(changes.getByRole('status')).toHaveText('7 changes');
  await expect(rowWith(changes.getByRole('table'), `adele@${domain}`).first()).toContainText('Account added');

  // Filter by kind, then by address.
  await changes.getByLabel('Kind').selectOption({ label: 'Alias added' });
  await changes.getByRole('button', { name: 'Filter' }).click();
  await expect(changes.getByRole('status')).toHaveText('1 change');
  await expect(changes.getByRole('table')).toContainText(`adele.vance@${domain}`);
  await changes.getByLabel('Kind').selectOption({ label: 'All changes' });
  await changes.getByLabel('Address contains').fill('megan');
  await changes.getByRole('button', { name: 'Filter' }).click();
  await expect(changes.getByRole('status')).toHaveText('2 changes'); // the account and its list membership

  const downloading = page.waitForEvent('download');
  await changes.getByRole('link', { name: 'Download CSV' }).click();
  const download = await downloading;
  const csv = readFileSync(await download.path(), 'utf8');
  expect(csv.split('\r\n')[0]).toBe('kind,address,item,before,after,new_address');
  expect(csv).toContain(`Account added,adele@${domain},`);
  expect(csv).toContain(`List member added,sales@${domain},megan@${domain}`);
  expect(csv.trim().split('\r\n')).toHaveLength(8);

  // Nothing was applied.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).toHaveText('0 accounts');
});

test('a tripped limit shows in the history with its numbers; its changes are applied once on request', async ({ page, login }) => {
  const domain = uniqueDomain('limit');
  const tenant = await createTenant(domain);
  await connectedDomain(page, login, tenant);

  const limits = page.getByRole('region', { name: 'Operations Limit' });
  await limits.getByLabel('Email Accounts – Add Limit').fill('2');
  await limits.getByRole('button', { name: 'Save' }).click();
  await expect(limits.getByRole('status')).toHaveText('Saved');

  await syncPanel(page).getByRole('button', { name: 'Manual Sync' }).click();
  const outcome = lastRun(page, 'sync');
  await expect(outcome).toContainText('Limit exceeded: Email Accounts – Add Limit: 4 planned, limit 2');
  await expect(rowWith(history(page), login.email)).toContainText('Limit exceeded: Email Accounts – Add Limit: 4 planned, limit 2');

  await outcome.getByRole('link', { name: 'See the changes and details of this run' }).click();
  await expect(page.getByRole('heading', { level: 1, name: /^Sync of / })).toBeVisible();
  await hydrated(page);
  await expect(page.getByRole('alert').filter({ hasText: 'Operations Limit exceeded' })).toContainText('Email Accounts – Add Limit: 4 planned, limit 2');

  await page.getByRole('button', { name: 'Apply these changes' }).click();
  const dialog = page.getByRole('dialog', { name: 'Apply these changes?' });
  await expect(dialog).toContainText('refuses if they have');
  await dialog.getByRole('button', { name: 'Apply' }).click();
  // The new run's page, which applied the kept plan.
  await expect(page.getByRole('main')).toContainText('This run applied the plan of');
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole('main').getByRole('definition').first()).toHaveText('Applied', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await hydrated(page); // a click while the reloaded page hydrates can be lost

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).toHaveText('4 accounts');
  // The synced list's page shows its members, read-only.
  await page.getByRole('link', { name: `sales@${domain}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `sales@${domain}` })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Members (2)' })).toBeVisible();
  await expect(page.getByRole('main')).toContainText(`adele@${domain}`);
  await expect(page.getByRole('main')).toContainText(`megan@${domain}`);
  await expect(page.getByRole('main')).toContainText('Kept in step with Office 365 at each sync');
  await expect(page.getByRole('button', { name: /Edit|Delete/ })).toHaveCount(0);
});

test('Manual Sync works without JavaScript @nojs', async ({ page, login }) => {
  const domain = uniqueDomain('nojs');
  const tenant = await createTenant(domain);
  await connectedDomain(page, login, tenant);
  await syncPanel(page).getByRole('button', { name: 'Manual Sync' }).click();
  // Back on the page: the run is queued, running or already done.
  await expect(syncPanel(page).getByRole('progressbar').or(lastRun(page, 'sync'))).toBeVisible();
  // Without JavaScript nothing is pushed: a reload shows where the run is.
  await expect(async () => {
    await page.reload();
    await expect(lastRun(page, 'sync')).toContainText('+4 accounts', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(rowWith(history(page), login.email)).toContainText('+4 accounts, +1 alias, 1 list changed');
});

test('a user disabled in the directory is synced as a disabled account that still receives mail', async ({ page, login }) => {
  const domain = uniqueDomain('disabled');
  const tenant = await createTenant(domain);
  await setAccountEnabled(tenant, 3, false); // megan: a shared mailbox, say
  await connectedDomain(page, login, tenant);
  await syncPanel(page).getByRole('button', { name: 'Manual Sync' }).click();
  await expect(lastRun(page, 'sync')).toContainText('+4 accounts');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).toHaveText('4 accounts');
  const main = page.getByRole('main');
  // The badge is in the address's cell, its meaning in the tooltip and for screen readers.
  const megan = main.getByRole('row').filter({ hasText: `megan@${domain}` });
  const badge = megan.locator('.badge');
  await expect(badge).toBeVisible();
  await expect(badge).toHaveAttribute('title', 'disabled in the directory; still receives mail');
  await expect(megan.getByRole('cell').first()).toHaveAccessibleName(
    /Disabled \(disabled in the directory; still receives mail\)$/,
  );
  await expect(main.locator('.badge')).toHaveCount(1);
  await expect(rowWith(main, `adele@${domain}`)).toBeVisible();

  await hydrated(page);
  await megan.getByRole('link', { name: `megan@${domain}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: `megan@${domain}` })).toBeVisible();
  await expect(page.getByRole('note')).toHaveText(
    'Disabled in your directory. Roster still accepts its mail (a disabled shared mailbox still receives mail).',
  );
  await expect(main.getByRole('definition').filter({ hasText: 'Disabled' })).toBeVisible();
  // A mailbox has no member list.
  await expect(page.getByRole('heading', { name: /^Members/ })).toHaveCount(0);
});
