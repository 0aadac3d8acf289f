import { randomUUID } from 'node:crypto';
import { test, expect, signIn, addDomain, uniqueDomain, hydrated, rowWith } from './fixtures';
import type { Page } from '@playwright/test';

// The Microsoft 365 emulator started by ./dev test stands in for Microsoft: each test loads a
// tenant of its own (its own GUID and domain) through the emulator's control API.
const emulator = process.env.ROSTER_E2E_EMULATOR_URL ?? 'http://127.0.0.1:4110';

type Tenant = { id: string; name: string; domain: string };

/** A tenant whose verified domains include `domain` (unless `verified` is false), with three
 *  mailboxes and a distribution list there. Consent is not granted yet. */
async function createTenant(domain: string, verified = true): Promise<Tenant> {
  const id = randomUUID();
  const name = `Tenant ${id.slice(0, 8)}`;
  const other = `other-${id.slice(0, 8)}.example`;
  const user = (n: number, local: string, extra: string[] = []) => ({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    displayName: `User ${local}`,
    // Sign-in names are in a verified domain; the mail addresses are at `domain` either way.
    userPrincipalName: `${local}@${verified ? domain : other}`,
    mail: `${local}@${domain}`,
    proxyAddresses: [`SMTP:${local}@${domain}`, ...extra],
    accountEnabled: true,
    userType: 'Member',
  });
  const body = {
    id,
    displayName: name,
    verifiedDomains: verified ? [domain] : [other],
    consented: false,
    users: [
      { ...user(1, 'admin'), isAdmin: true },
      user(2, 'adele', [`smtp:adele.vance@${domain}`, 'SIP:adele@elsewhere.example']),
      user(3, 'megan'),
    ],
    groups: [
      {
        id: '10000000-0000-4000-8000-000000000001',
        displayName: 'Sales',
        mail: `sales@${domain}`,
        proxyAddresses: [`SMTP:sales@${domain}`],
        groupTypes: [],
        mailEnabled: true,
        securityEnabled: false,
        members: ['00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'],
      },
    ],
  };
  const response = await fetch(`${emulator}/_emulator/tenants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(201);
  return { id, name, domain };
}

async function revokeConsent(tenant: Tenant) {
  const response = await fetch(`${emulator}/_emulator/tenants/${tenant.id}/consent`, { method: 'DELETE' });
  expect(response.ok).toBe(true);
}

async function openSync(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Office 365 Sync' })).toBeVisible();
}

function panel(page: Page) {
  return page.getByRole('region', { name: 'Microsoft 365 connection' });
}

/** From the Office 365 Sync page through the emulator's consent screen, signing in as the
 *  tenant's Global Administrator, and back. */
async function grantPermission(page: Page, tenant: Tenant, decision: 'Accept' | 'Cancel') {
  await panel(page).getByRole('button', { name: 'Grant permission' }).click();
  await expect(page.getByRole('heading', { name: 'Permissions requested' })).toBeVisible();
  expect(new URL(page.url()).pathname).toBe('/organizations/v2.0/adminconsent');
  await page.getByLabel(`Global Administrator of ${tenant.name}`).check();
  await page.getByRole('button', { name: decision }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Office 365 Sync' })).toBeVisible();
  await hydrated(page);
}

test('grants permission through the consent screen and tests the connection @nojs', async ({ page, login }) => {
  const domain = uniqueDomain('m365');
  const tenant = await createTenant(domain);
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  await openSync(page);

  await expect(panel(page)).toContainText('You will be redirected to Microsoft.');
  await expect(page.getByRole('button', { name: 'Test Connection' })).toHaveCount(0);
  await grantPermission(page, tenant, 'Accept');

  await expect(panel(page).getByRole('status').filter({ hasText: /^Permission granted:/ })).toBeVisible();
  await expect(panel(page)).toContainText(
    new RegExp(`Connected to ${tenant.name} \\(${tenant.id}\\), permission granted by ${login.email} on \\d{4}-\\d{2}-\\d{2}`),
  );
  await expect(panel(page).getByRole('note')).toHaveCount(0); // the domain is verified: no warning

  // A reload shows the stored connection.
  await page.reload();
  await hydrated(page);
  await expect(panel(page)).toContainText(`Connected to ${tenant.name}`);

  await page.getByRole('button', { name: 'Test Connection' }).click();
  const result = page.getByRole('region', { name: 'Test Connection' });
  await expect(result.getByRole('status')).toContainText('Connection works. Read 3 users and 1 group');
  await expect(result.getByRole('status')).toContainText('4 of them are accounts at this domain');
  const table = result.getByRole('table', { name: 'First accounts' });
  await expect(rowWith(table, `adele@${domain}`)).toContainText(`adele.vance@${domain}`);
  await expect(rowWith(table, `adele@${domain}`)).not.toContainText('elsewhere');
  await expect(rowWith(table, `sales@${domain}`)).toContainText('Distribution list (2 members)');
  await expect(table.getByRole('row')).toHaveCount(5); // header + 4 accounts
  // Nothing was stored: the domain still has no email accounts.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).toHaveText('0 accounts');
});

test('cancel on the consent screen stores nothing and says so @nojs', async ({ page, login }) => {
  const domain = uniqueDomain('m365');
  const tenant = await createTenant(domain);
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  await openSync(page);
  await grantPermission(page, tenant, 'Cancel');
  await expect(panel(page).getByRole('alert')).toContainText('the consent screen was cancelled at Microsoft');
  await expect(panel(page).getByRole('alert')).toContainText('(Microsoft: AADSTS65004)');
  await expect(panel(page).getByRole('button', { name: 'Grant permission' })).toBeVisible();
  await expect(panel(page)).not.toContainText('Connected to');
});

test('a domain the tenant has not verified is connected with a warning; disconnect asks first', async ({ page, login }) => {
  const domain = uniqueDomain('m365');
  const tenant = await createTenant(domain, false);
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  await openSync(page);
  await grantPermission(page, tenant, 'Accept');
  await expect(panel(page).getByRole('note')).toContainText(`${domain} is not a verified domain of ${tenant.name}`);

  await panel(page).getByRole('button', { name: 'Disconnect' }).click();
  const dialog = page.getByRole('dialog', { name: `Disconnect from ${tenant.name}?` });
  await expect(dialog).toContainText('email accounts stay as they are');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(panel(page)).toContainText(`Connected to ${tenant.name}`);

  await panel(page).getByRole('button', { name: 'Disconnect' }).click();
  await dialog.getByRole('button', { name: 'Disconnect' }).click();
  await expect(panel(page).getByRole('button', { name: 'Grant permission' })).toBeVisible();
  await page.reload();
  await expect(panel(page).getByRole('button', { name: 'Grant permission' })).toBeVisible();
  await expect(panel(page)).not.toContainText('Connected to');
});

test('revoked consent makes Test Connection explain what to do', async ({ page, login }) => {
  const domain = uniqueDomain('m365');
  const tenant = await createTenant(domain);
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  await openSync(page);
  await grantPermission(page, tenant, 'Accept');
  await expect(panel(page)).toContainText(`Connected to ${tenant.name}`);

  await revokeConsent(tenant);
  await page.getByRole('button', { name: 'Test Connection' }).click();
  const alert = page.getByRole('region', { name: 'Test Connection' }).getByRole('alert');
  await expect(alert).toContainText('The connection test failed.');
  // Roster still holds a token from the grant, so Graph itself refuses (403).
  await expect(alert).toContainText('admin consent was revoked');
  await expect(alert).toContainText("Microsoft's code: Authorization_RequestDenied");
  await expect(alert).not.toContainText('Trace ID');
});
