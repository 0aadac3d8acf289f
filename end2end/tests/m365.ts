import { randomUUID } from 'node:crypto';
import { expect } from '@playwright/test';
import type { Page } from '@playwright/test';
import { hydrated } from './fixtures';

// The Microsoft 365 emulator started by ./dev test stands in for Microsoft: each test loads a
// tenant of its own (its own GUID and domain) through the emulator's control API.
export const emulator = process.env.ROSTER_E2E_EMULATOR_URL ?? 'http://127.0.0.1:4110';

export type Tenant = { id: string; name: string; domain: string };

/** A tenant whose verified domains include `domain` (unless `verified` is false), with three
 *  mailboxes and a distribution list there. Consent is not granted yet. */
export async function createTenant(domain: string, verified = true): Promise<Tenant> {
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

export async function revokeConsent(tenant: Tenant) {
  const response = await fetch(`${emulator}/_emulator/tenants/${tenant.id}/consent`, { method: 'DELETE' });
  expect(response.ok).toBe(true);
}

export async function openSync(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Office 365 Sync' })).toBeVisible();
}

export function panel(page: Page) {
  return page.getByRole('region', { name: 'Microsoft 365 connection' });
}

/** From the Office 365 Sync page through the emulator's consent screen, signing in as the
 *  tenant's Global Administrator, and back. After Accept, Roster asks Microsoft for a sign-in to
 *  prove the tenant; the session the consent left answers it at once (no second screen). */
export async function grantPermission(page: Page, tenant: Tenant, decision: 'Accept' | 'Cancel') {
  await panel(page).getByRole('button', { name: 'Grant permission' }).click();
  await expect(page.getByRole('heading', { name: 'Permissions requested' })).toBeVisible();
  expect(new URL(page.url()).pathname).toBe('/organizations/v2.0/adminconsent');
  await page.getByLabel(`Global Administrator of ${tenant.name}`).check();
  await page.getByRole('button', { name: decision }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Office 365 Sync' })).toBeVisible();
  await hydrated(page);
}

/** Generates a tenant of `users` users and `groups` distribution lists at `domain`, with a
 *  Global Administrator, consent not granted yet. */
export async function generateTenant(domain: string, users: number, groups: number): Promise<Tenant> {
  const id = randomUUID();
  const name = `Generated ${id.slice(0, 8)}`;
  const response = await fetch(`${emulator}/_emulator/tenants/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, displayName: name, users, groups, domains: [domain], seed: 3, consented: false }),
  });
  expect(response.status, await response.text()).toBe(201);
  return { id, name, domain };
}

/** Sets the emulator's faults (they apply to every tenant; `{}` clears them). */
export async function setFaults(faults: Record<string, unknown>) {
  const response = await fetch(`${emulator}/_emulator/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(response.ok, await response.text()).toBe(true);
}

/** Sets `accountEnabled` of the tenant's user `n` (as numbered by `createTenant`). */
export async function setAccountEnabled(tenant: Tenant, n: number, enabled: boolean) {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const response = await fetch(`${emulator}/_emulator/tenants/${tenant.id}/users/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accountEnabled: enabled }),
  });
  expect(response.ok, await response.text()).toBe(true);
}
