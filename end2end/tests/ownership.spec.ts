import { test, expect, signIn, addDomain, uniqueDomain, hydrated } from './fixtures';
import { emulator, createTenant, openSync, grantPermission } from './m365';
import type { Page } from '@playwright/test';

function ownership(page: Page) {
  return page.getByRole('region', { name: 'Domain ownership' });
}

/** Publishes TXT records for `name` on the emulator's DNS server (Roster's ROSTER_DNS_SERVER). */
async function publishTxt(name: string, txt: string[]) {
  const response = await fetch(`${emulator}/_emulator/dns/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ txt }),
  });
  expect(response.status, await response.text()).toBe(204);
}

test('an unverified domain shows its TXT record and is verified once the record is published', async ({ page, login }) => {
  const domain = uniqueDomain('owned');
  await signIn(page, login);
  await addDomain(page, domain, 'On Premise/Hosted Exchange or Other');
  await hydrated(page);
  await expect(ownership(page)).toContainText('Ownership not verified.');
  await expect(ownership(page)).toContainText(domain);
  const value = (await ownership(page).getByLabel('TXT record value').textContent()) ?? '';
  expect(value).toMatch(/^roster-verification=[0-9a-f]{32}$/);

  // Not published yet: the name does not exist in DNS.
  await ownership(page).getByRole('button', { name: 'Verify ownership' }).click();
  await expect(ownership(page).getByRole('alert')).toContainText(`DNS says the domain ${domain} does not exist`);
  // Another code: refused, still not verified.
  await publishTxt(domain, ['v=spf1 -all', 'roster-verification=0123456789abcdef0123456789abcdef']);
  await ownership(page).getByRole('button', { name: 'Verify ownership' }).click();
  await expect(ownership(page).getByRole('alert')).toContainText('has another verification code');
  await expect(ownership(page)).toContainText('Ownership not verified.');

  await publishTxt(domain, ['v=spf1 -all', value]);
  await ownership(page).getByRole('button', { name: 'Verify ownership' }).click();
  await expect(ownership(page).getByRole('status')).toContainText('Ownership verified by DNS on');
  await expect(ownership(page)).not.toContainText('Ownership not verified');
  await page.reload();
  await expect(ownership(page).getByRole('status')).toContainText('Ownership verified by DNS on');
});

test('an Office 365 domain its tenant has not verified can not be synced until ownership is proven', async ({ page, login }) => {
  const domain = uniqueDomain('m365');
  const tenant = await createTenant(domain, false);
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  await openSync(page);
  await grantPermission(page, tenant, 'Accept');
  const sync = page.getByRole('region', { name: 'Synchronize' });
  await expect(sync.getByRole('button', { name: 'Manual Sync' })).toBeDisabled();
  await expect(sync.getByRole('button', { name: 'Test Sync' })).toBeDisabled();
  await expect(sync).toContainText('Manual Sync and Test Sync are unavailable: Ownership not verified.');
  await sync.getByRole('link', { name: 'Inbound Servers' }).click();
  await expect(ownership(page)).toContainText('Ownership not verified.');
});

test('an Office 365 domain verified in its tenant counts as proven', async ({ page, login }) => {
  const domain = uniqueDomain('m365');
  const tenant = await createTenant(domain);
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  await openSync(page);
  await grantPermission(page, tenant, 'Accept');
  await expect(page.getByRole('region', { name: 'Synchronize' }).getByRole('button', { name: 'Manual Sync' })).toBeEnabled();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbound Servers' }).click();
  await expect(ownership(page).getByRole('status')).toContainText(`a verified domain of the Microsoft 365 tenant “${tenant.name}”`);
});
