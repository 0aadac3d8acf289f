import { test, expect, signIn, hydrated, loadToLook, addDomain, uniqueDomain, fieldError, rowWith } from './fixtures';
import { randomUUID } from 'node:crypto';
import type { Page } from '@playwright/test';

/** The value shown next to a setting's edit button ("Server type:", "Deliver email to port:"). */
function setting(page: Page, editButton: string) {
  return page.getByRole('definition').filter({ has: page.getByRole('button', { name: editButton }) });
}

function startsWith(text: string) {
  return new RegExp('^' + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
}

/** Marks the document, so a later check can tell whether the page was reloaded meanwhile. */
async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { __e2eMark: string }).__e2eMark = 'still here'));
}

async function documentMark(page: Page) {
  return page.evaluate(() => (window as unknown as { __e2eMark?: string }).__e2eMark);
}

test.describe('server type', () => {
  test('changing it updates the page and the sync entry of the menu at once', async ({ page, login }) => {
    const name = uniqueDomain();
    await signIn(page, login);
    await addDomain(page, name, 'On Premise/Hosted Exchange or Other');
    await hydrated(page);
    const nav = page.getByRole('navigation', { name: 'Main' });
    const syncLink = nav.getByRole('link', { name: 'Office 365 Sync' });
    const type = setting(page, 'Edit server type');
    const dialog = page.getByRole('dialog', { name: 'Edit server type' });

    await expect(nav.getByRole('link', { name: 'Email Accounts' })).toBeVisible();
    await expect(syncLink).toHaveCount(0);
    await expect(type.getByText('On Premise/Hosted Exchange or Other', { exact: true })).toBeVisible();
    await expect(dialog).toBeHidden();
    await markDocument(page);

    await page.getByRole('button', { name: 'Edit server type' }).click();
    await expect(dialog).toBeVisible();
    await dialog.getByLabel('Type').selectOption({ label: 'Office 365' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toBeHidden();
    await expect(type.getByText('Office 365', { exact: true })).toBeVisible();
    await expect(syncLink).toBeVisible();
    await expect(syncLink).toHaveAttribute('href', /\/domains\/[0-9a-f-]{36}\/sync\/office365$/);
    expect(await documentMark(page)).toBe('still here');

    await page.getByRole('button', { name: 'Edit server type' }).click();
    await expect(dialog).toBeVisible();
    // The dialog starts from the current type.
    await expect(dialog.getByLabel('Type')).toHaveValue('office365');
    await dialog.getByLabel('Type').selectOption({ label: 'Google Workspace' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toBeHidden();
    await expect(type.getByText('Google Workspace', { exact: true })).toBeVisible();
    await expect(syncLink).toHaveCount(0);
    await expect(nav.getByRole('link', { name: 'Email Accounts' })).toBeVisible();
    expect(await documentMark(page)).toBe('still here');

    // And it was saved.
    await loadToLook(page);
    await expect(type.getByText('Google Workspace', { exact: true })).toBeVisible();
    await expect(syncLink).toHaveCount(0);
  });

  test('Cancel closes the dialog without changing the type', async ({ page, login }) => {
    await signIn(page, login);
    await addDomain(page, uniqueDomain(), 'Office 365');
    await hydrated(page);
    const type = setting(page, 'Edit server type');
    const dialog = page.getByRole('dialog', { name: 'Edit server type' });
    const syncLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' });

    await page.getByRole('button', { name: 'Edit server type' }).click();
    await dialog.getByLabel('Type').selectOption({ label: 'Google Workspace' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expect(type.getByText('Office 365', { exact: true })).toBeVisible();
    await expect(syncLink).toBeVisible();

    await loadToLook(page);
    await expect(type.getByText('Office 365', { exact: true })).toBeVisible();
    await expect(syncLink).toBeVisible();
  });
});

// Cancel puts the form back: the dialog opens again on the saved type, so a later Save can't
// change the type to a choice that was cancelled.
test('after Cancel the server type dialog opens again on the current type', async ({ page, login }) => {
  await signIn(page, login);
  await addDomain(page, uniqueDomain(), 'Office 365');
  await hydrated(page);
  const dialog = page.getByRole('dialog', { name: 'Edit server type' });
  await page.getByRole('button', { name: 'Edit server type' }).click();
  await dialog.getByLabel('Type').selectOption({ label: 'Google Workspace' });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(setting(page, 'Edit server type').getByText('Office 365', { exact: true })).toBeVisible();

  await page.getByRole('button', { name: 'Edit server type' }).click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Type')).toHaveValue('office365', { timeout: 3_000 });
});

test.describe('mail servers', () => {
  test('adds servers, refuses an invalid host, searches and deletes', async ({ page, login }) => {
    const id = randomUUID().slice(0, 8);
    const primary = `mx-${id}.example.com`;
    const backup = `backup-${id}.example.net`;
    await signIn(page, login);
    await addDomain(page, uniqueDomain(), 'On Premise/Hosted Exchange or Other');
    await hydrated(page);
    const servers = page.getByRole('region', { name: 'Mail servers' });
    const dialog = page.getByRole('dialog', { name: 'Add a mail server' });
    const host = dialog.getByLabel('Host name or IP address');
    const priority = dialog.getByLabel('Priority');

    await expect(servers.getByRole('cell', { name: /No mail servers yet/ })).toBeVisible();

    // An invalid host: the message is at the field, the dialog stays, nothing is added.
    await servers.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog).toBeVisible();
    await host.fill('-bad');
    await priority.fill('10');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    const hostError = await fieldError(host);
    await expect(hostError).toContainText('“-bad” is not allowed');
    await expect(hostError).toHaveRole('alert');
    await expect(dialog).toBeVisible();
    await expect(servers.getByRole('cell', { name: /No mail servers yet/ })).toBeVisible();

    await host.fill(primary.toUpperCase());
    await priority.fill('10');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog).toBeHidden();
    await expect(rowWith(servers, primary).getByRole('cell')).toHaveText([primary, '10', /Delete/]);

    await servers.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog).toBeVisible();
    await host.fill(backup);
    await priority.fill('20');
    await dialog.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(dialog).toBeHidden();
    await expect(rowWith(servers, backup).getByRole('cell')).toHaveText([backup, '20', /Delete/]);
    // Lower priority first.
    await expect(servers.getByRole('row')).toHaveText([/^Mail server/, startsWith(primary), startsWith(backup)]);

    // Search: a GET form, sent with Enter.
    const search = servers.getByLabel('Search mail servers');
    await search.fill('BACKUP');
    await search.press('Enter');
    await expect(page).toHaveURL(/[?&]q=BACKUP/);
    await expect(rowWith(servers, backup)).toBeVisible();
    await expect(rowWith(servers, primary)).toHaveCount(0);

    await search.fill('nothing-like-it');
    await search.press('Enter');
    await expect(servers.getByRole('cell', { name: 'No mail server matches your search.' })).toBeVisible();
    await expect(rowWith(servers, backup)).toHaveCount(0);

    await search.fill('');
    await search.press('Enter');
    await expect(rowWith(servers, primary)).toBeVisible();
    await expect(rowWith(servers, backup)).toBeVisible();

    // Delete, through the confirmation: Cancel keeps it, Delete removes it.
    const confirm = page.getByRole('dialog', { name: `Delete ${primary}?` });
    await servers.getByRole('button', { name: `Delete ${primary}` }).click();
    await expect(confirm).toBeVisible();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(confirm).toBeHidden();
    await expect(rowWith(servers, primary)).toBeVisible();

    await servers.getByRole('button', { name: `Delete ${primary}` }).click();
    await expect(confirm).toBeVisible();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await expect(rowWith(servers, primary)).toHaveCount(0);
    await expect(rowWith(servers, backup)).toBeVisible();

    await loadToLook(page);
    await expect(rowWith(servers, primary)).toHaveCount(0);
    await expect(rowWith(servers, backup).getByRole('cell')).toHaveText([backup, '20', /Delete/]);
  });

  test('the same host twice is refused at the field', async ({ page, login }) => {
    const host = `mx-${randomUUID().slice(0, 8)}.example.com`;
    await signIn(page, login);
    await addDomain(page, uniqueDomain(), 'Office 365');
    await hydrated(page);
    const servers = page.getByRole('region', { name: 'Mail servers' });
    const dialog = page.getByRole('dialog', { name: 'Add a mail server' });

    for (const attempt of [1, 2]) {
      await servers.getByRole('button', { name: 'Add', exact: true }).click();
      await expect(dialog).toBeVisible();
      await dialog.getByLabel('Host name or IP address').fill(host);
      await dialog.getByLabel('Priority').fill(String(attempt * 10));
      await dialog.getByRole('button', { name: 'Add', exact: true }).click();
      if (attempt === 1) await expect(dialog).toBeHidden();
    }
    await expect(await fieldError(dialog.getByLabel('Host name or IP address'))).toHaveText(
      'This mail server is already in the list.',
    );
    await expect(dialog).toBeVisible();
    await expect(rowWith(servers, host)).toHaveCount(1);
  });
});

test('the delivery port can be changed', async ({ page, login }) => {
  await signIn(page, login);
  await addDomain(page, uniqueDomain(), 'Office 365');
  await hydrated(page);
  const port = setting(page, 'Edit delivery port');
  const dialog = page.getByRole('dialog', { name: 'Edit delivery port' });

  await expect(port.getByText('25', { exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Edit delivery port' }).click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Port')).toHaveValue('25');
  await dialog.getByLabel('Port').fill('2525');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();
  await expect(port.getByText('2525', { exact: true })).toBeVisible();

  await loadToLook(page);
  await expect(port.getByText('2525', { exact: true })).toBeVisible();
  await page.getByRole('button', { name: 'Edit delivery port' }).click();
  await expect(dialog.getByLabel('Port')).toHaveValue('2525');
});

// Without JavaScript a refused dialog form comes back as a page reload with the error in the
// URL; the dialog is then shown in the page, with the message at its field.
test('a refused mail server says why, with or without JavaScript @nojs', async ({ page, login }) => {
  await signIn(page, login);
  await addDomain(page, uniqueDomain(), 'On Premise/Hosted Exchange or Other');
  await hydrated(page);
  const servers = page.getByRole('region', { name: 'Mail servers' });
  await servers.getByRole('button', { name: 'Add', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Add a mail server' });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Host name or IP address').fill('-bad');
  await dialog.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(servers.getByRole('cell', { name: /No mail servers yet/ })).toBeVisible();
  // Without JavaScript the URL carries only the error's code: Roster's fixed sentence.
  const noJs = test.info().project.use.javaScriptEnabled === false;
  await expect(
    page.getByRole('alert').filter({
      hasText: noJs ? 'This value was not accepted. Check it and try again.' : '“-bad” is not allowed',
    }),
  ).toBeVisible({ timeout: 5_000 });
});
