import {
  test,
  expect,
  signIn,
  hydrated,
  loadToLook,
  addDomain,
  uniqueDomain,
  fieldError,
  rowWith,
  columnCell,
} from './fixtures';
import type { Page } from '@playwright/test';

/** Adds a domain and opens its Email Accounts page through the menu. */
async function openAccounts(page: Page, domain: string) {
  await addDomain(page, domain, 'On Premise/Hosted Exchange or Other');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('heading', { name: 'Email Accounts' })).toBeVisible();
  await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}\/accounts$/);
}

/** Fills and sends the "Add an email account" dialog. */
async function submitAccount(page: Page, localPart: string, aliases: string) {
  const dialog = page.getByRole('dialog', { name: 'Add an email account' });
  if (!(await dialog.isVisible())) {
    await page.getByRole('main').getByRole('button', { name: 'Add account' }).click();
  }
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Address').fill(localPart);
  await dialog.getByLabel('Aliases').fill(aliases);
  await dialog.getByRole('button', { name: 'Add account' }).click();
  return dialog;
}

test('a fresh domain has no accounts', async ({ page, login }) => {
  await signIn(page, login);
  await openAccounts(page, uniqueDomain());
  await expect(page.getByRole('status').filter({ hasText: 'accounts' })).toHaveText('0 accounts');
  await expect(
    page.getByRole('cell', { name: 'No email accounts yet. Add one, or sync them from your directory.' }),
  ).toBeVisible();
});

test('adds accounts with aliases and refuses addresses in use', async ({ page, login }) => {
  const domain = uniqueDomain('acc');
  await signIn(page, login);
  await openAccounts(page, domain);
  const main = page.getByRole('main');

  const dialog = await submitAccount(page, 'alice', 'ali\nal');
  await expect(dialog).toBeHidden();
  const alice = rowWith(main, `alice@${domain}`);
  await expect(alice.getByRole('cell')).toHaveText([
    `alice@${domain}`,
    'Mailbox',
    `al@${domain}, ali@${domain}`,
    'Manual',
    /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    /Edit.*Delete/,
  ]);
  await expect(page.getByRole('status').filter({ hasText: 'account' })).toHaveText('1 account');
  await expect(page.getByRole('cell', { name: /No email accounts yet/ })).toHaveCount(0);

  // An alias of another account: refused, naming the address.
  await submitAccount(page, 'bob', 'ali');
  await expect(dialog).toBeVisible();
  const aliasesError = await fieldError(dialog.getByLabel('Aliases'));
  await expect(aliasesError).toContainText(`Already in use by an account or alias: ali@${domain}.`);
  await expect(aliasesError).toHaveRole('alert');
  await expect(rowWith(main, `bob@${domain}`)).toHaveCount(0);

  // The same address again: refused at the address.
  await submitAccount(page, 'alice', '');
  await expect(dialog).toBeVisible();
  await expect(await fieldError(dialog.getByLabel('Address'))).toContainText(
    `Already in use by an account or alias: alice@${domain}.`,
  );
  // An alias as the address of a new account is refused too.
  await submitAccount(page, 'al', '');
  await expect(await fieldError(dialog.getByLabel('Address'))).toContainText(
    `Already in use by an account or alias: al@${domain}.`,
  );
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();

  await loadToLook(page);
  await expect(page.getByRole('status').filter({ hasText: 'account' })).toHaveText('1 account');
  await expect(rowWith(main, `alice@${domain}`)).toBeVisible();
  await expect(rowWith(main, `bob@${domain}`)).toHaveCount(0);
  await expect(page.getByText(`bob@${domain}`)).toHaveCount(0);
});

test('searches accounts by address or alias', async ({ page, login }) => {
  const domain = uniqueDomain('find');
  await signIn(page, login);
  await openAccounts(page, domain);
  const main = page.getByRole('main');
  await expect(await submitAccount(page, 'henry', 'sales')).toBeHidden();
  await expect(await submitAccount(page, 'irene', 'support')).toBeHidden();
  await expect(page.getByRole('status').filter({ hasText: 'accounts' })).toHaveText('2 accounts');

  const search = main.getByLabel('Search by address or alias');
  await search.fill('SALES');
  await main.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/[?&]q=SALES/);
  await expect(page.getByRole('status').filter({ hasText: 'account' })).toHaveText('1 account');
  await expect(rowWith(main, `henry@${domain}`)).toBeVisible();
  await expect(rowWith(main, `irene@${domain}`)).toHaveCount(0);

  await search.fill('irene');
  await search.press('Enter');
  await expect(rowWith(main, `irene@${domain}`)).toBeVisible();
  await expect(rowWith(main, `henry@${domain}`)).toHaveCount(0);

  await search.fill('nobody-here');
  await search.press('Enter');
  await expect(main.getByRole('cell', { name: 'No account matches your search.' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'accounts' })).toHaveText('0 accounts');
});

test('deletes an account through its confirmation', async ({ page, login }) => {
  const domain = uniqueDomain('del');
  await signIn(page, login);
  await openAccounts(page, domain);
  const main = page.getByRole('main');
  await expect(await submitAccount(page, 'carol', 'c')).toBeHidden();
  await expect(await submitAccount(page, 'dave', '')).toBeHidden();
  const carol = rowWith(main, `carol@${domain}`);
  await expect(carol).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'accounts' })).toHaveText('2 accounts');

  const confirm = page.getByRole('dialog', { name: `Delete carol@${domain}?` });
  await carol.getByRole('button', { name: `Delete carol@${domain}` }).click();
  await expect(confirm).toBeVisible();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toBeHidden();
  await expect(carol).toBeVisible();

  await carol.getByRole('button', { name: `Delete carol@${domain}` }).click();
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await expect(carol).toHaveCount(0);
  await expect(rowWith(main, `dave@${domain}`)).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'account' })).toHaveText('1 account');

  // Its address and alias are free again.
  await expect(await submitAccount(page, 'c', 'carol')).toBeHidden();
  const c = rowWith(main, `c@${domain}`);
  await expect(await columnCell(main.getByRole('table'), c, 'Aliases')).toHaveText(`carol@${domain}`);
});

test('the Edit dialog adds and removes an alias', async ({ page, login }) => {
  const domain = uniqueDomain('edit');
  await signIn(page, login);
  await openAccounts(page, domain);
  const main = page.getByRole('main');
  await expect(await submitAccount(page, 'erin', '')).toBeHidden();
  const erin = rowWith(main, `erin@${domain}`);
  const aliases = await columnCell(main.getByRole('table'), erin, 'Aliases');
  await expect(aliases).toHaveText('—');

  const edit = page.getByRole('dialog', { name: `Edit erin@${domain}` });
  // Opens the dialog unless it is open (its button would close it).
  const openEdit = async () => {
    if (!(await edit.isVisible())) await erin.getByRole('button', { name: `Edit erin@${domain}` }).click();
    await expect(edit).toBeVisible();
  };
  await openEdit();
  await expect(edit.getByRole('listitem')).toHaveText(['No aliases.']);
  await edit.getByLabel('New alias').fill('sales');
  await edit.getByRole('button', { name: 'Add alias' }).click();
  await expect(aliases).toHaveText(`sales@${domain}`);

  await openEdit();
  await expect(edit.getByRole('listitem')).toHaveText([`sales@${domain}Remove`]);
  await edit.getByRole('button', { name: `Remove alias sales@${domain}` }).click();
  await expect(aliases).toHaveText('—');

  await loadToLook(page);
  await expect(aliases).toHaveText('—');
});

// A refused alias must not close the Edit dialog: the list is reloaded only after a change
// (before, every alias action reloaded it and the open dialog closed, taking the message and
// what was typed with it).
test('a refused alias is explained in the open Edit dialog', async ({ page, login }) => {
  const domain = uniqueDomain('alias');
  await signIn(page, login);
  await openAccounts(page, domain);
  const main = page.getByRole('main');
  await expect(await submitAccount(page, 'frank', '')).toBeHidden();
  await expect(await submitAccount(page, 'grace', '')).toBeHidden();
  // The list has been reloaded (its rows are new): only now open a row's dialog.
  await expect(rowWith(main, `grace@${domain}`)).toBeVisible();

  const frank = rowWith(main, `frank@${domain}`);
  const edit = page.getByRole('dialog', { name: `Edit frank@${domain}` });
  await frank.getByRole('button', { name: `Edit frank@${domain}` }).click();
  await expect(edit).toBeVisible();
  const newAlias = edit.getByLabel('New alias');
  const aliasError = await fieldError(newAlias);
  await newAlias.fill('grace');
  await edit.getByRole('button', { name: 'Add alias' }).click();
  await expect(aliasError).toContainText(`Already in use by an account or alias: grace@${domain}.`);
  await expect(aliasError).toBeVisible();
  // It must stay open: the bug closed it a moment after the message came (within ~100 ms).
  const closed = await expect(edit)
    .toBeHidden({ timeout: 2_000 })
    .then(() => true, () => false);
  expect(closed, 'the Edit dialog closed by itself').toBe(false);
  await expect(newAlias).toHaveValue('grace');
  const frankAliases = await columnCell(main.getByRole('table'), frank, 'Aliases');
  await expect(frankAliases).toHaveText('—');

  // Corrected, it is added.
  await newAlias.fill('frankie');
  await edit.getByRole('button', { name: 'Add alias' }).click();
  await expect(frankAliases).toHaveText(`frankie@${domain}`);
});
