import { test, expect, signIn, addDomain, uniqueDomain, hydrated, rowWith } from './fixtures';
import { createTenant, revokeConsent, openSync, panel, grantPermission } from './m365';

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
    // Who granted it is the tenant's admin who signed in at Microsoft, not the Roster admin.
    new RegExp(
      `Connected to ${tenant.name} \\(${tenant.id}\\), permission granted by admin@${domain}, Global Administrator of ${tenant.name} on \\d{4}-\\d{2}-\\d{2}`,
    ),
  );
  await expect(panel(page).getByRole('note')).toHaveCount(0); // the domain is verified: no warning

  // A reload shows the stored connection.
  await page.reload();
  await hydrated(page);
  await expect(panel(page)).toContainText(`Connected to ${tenant.name}`);

  await page.getByRole('button', { name: 'Test Connection' }).click();
  const result = page.getByRole('region', { name: 'Test Connection' });
  await expect(result.getByRole('status')).toContainText('Connection works. Read 3 users and 1 group');
  // The address holds the test's number and nothing else (it used to end in an empty `&=`).
  expect(new URL(page.url()).search).toBe('?test=1');
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
