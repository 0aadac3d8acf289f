import {
  test,
  expect,
  signIn,
  hydrated,
  addDomain,
  uniqueDomain,
  createOrganization,
  fieldError,
  signedInPage,
  rowWith,
} from './fixtures';
import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import type { Page } from '@playwright/test';

const TYPES = ['On Premise/Hosted Exchange or Other', 'Office 365', 'Google Workspace'];

/** The "Server type:" setting on a domain's Inbound Servers page. */
function serverTypeSetting(page: Page) {
  return page
    .getByRole('definition')
    .filter({ has: page.getByRole('button', { name: 'Edit server type' }) });
}

test('adds a domain of each server type', async ({ page, login }) => {
  await signIn(page, login);
  const names: string[] = [];
  for (const type of TYPES) {
    const name = uniqueDomain();
    names.push(name);
    await addDomain(page, name, type);
    await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}$/);
    await expect(page.getByRole('term').filter({ hasText: 'Server type:' })).toBeVisible();
    await expect(serverTypeSetting(page).getByText(type, { exact: true })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' }).getByText(name, { exact: true })).toBeVisible();
  }

  await page.goto('/domains');
  await hydrated(page);
  const table = page.getByRole('main').getByRole('table');
  await expect(table.getByRole('row')).toHaveCount(1 + TYPES.length);
  for (const [i, name] of names.entries()) {
    await expect(rowWith(table, name).getByRole('cell')).toHaveText([name, TYPES[i], '0', 'Never']);
  }
});

test('adds a domain without JavaScript @nojs', async ({ page, login }) => {
  const name = uniqueDomain('nojs');
  await signIn(page, login);
  await page.getByRole('link', { name: 'Add domain' }).click();
  await expect(page.getByRole('heading', { name: 'New Domain' })).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Type').selectOption({ label: 'Office 365' });
  await page.getByRole('button', { name: 'Next' }).click();

  await expect(page.getByRole('heading', { name: 'Inbound Servers' })).toBeVisible();
  await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}$/);
  await expect(serverTypeSetting(page).getByText('Office 365', { exact: true })).toBeVisible();

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Domains' }).click();
  await expect(page.getByRole('heading', { name: 'Domains' })).toBeVisible();
  await expect(rowWith(page, name).getByRole('cell')).toHaveText([name, 'Office 365', '0', 'Never']);
});

test('an upper-case internationalized name is shown in Unicode lower case', async ({ page, login }) => {
  const id = randomUUID().slice(0, 8);
  const typed = `Bücher-${id}.EXAMPLE`;
  const shown = `bücher-${id}.example`;
  await signIn(page, login);
  await addDomain(page, typed, 'Google Workspace');

  const heading = page.getByRole('navigation', { name: 'Main' }).getByText(shown, { exact: true });
  await expect(heading).toBeVisible();
  // The stored (ASCII) form is there for whoever needs it: the punycode of the same name.
  await expect(heading).toHaveAttribute('title', domainToASCII(shown));
  await expect(page).toHaveTitle(`Inbound Servers · ${shown} · Roster`);

  await page.goto('/domains');
  await hydrated(page);
  await expect(page.getByRole('link', { name: shown, exact: true })).toBeVisible();
  await expect(page.getByText(typed, { exact: true })).toHaveCount(0);
});

test('an invalid name is explained at the field and the form stays', async ({ page, login }) => {
  await signIn(page, login);
  await page.goto('/domains/new');
  await hydrated(page);
  const name = page.getByLabel('Name');
  const nameError = await fieldError(name);
  await expect(nameError).toBeEmpty();

  await name.fill('localhost');
  await page.getByLabel('Type').selectOption({ label: 'Office 365' });
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(nameError).toHaveText('Enter the full domain name, e.g. mydomain.org.');
  await expect(nameError).toHaveRole('alert');
  await expect(page).toHaveURL(/\/domains\/new$/);
  await expect(page.getByRole('heading', { name: 'New Domain' })).toBeVisible();

  await name.fill('not a domain');
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(nameError).toHaveText(
    'Only letters, digits, hyphens and dots are allowed (no spaces or other symbols).',
  );
  await expect(page).toHaveURL(/\/domains\/new$/);

  // Nothing was added.
  await page.goto('/domains');
  await hydrated(page);
  await expect(page.getByRole('cell', { name: /No domains yet/ })).toBeVisible();
});

test('an invalid name is explained at the field without JavaScript @nojs', async ({ page, login }) => {
  await signIn(page, login);
  await page.goto('/domains/new');
  await hydrated(page);
  const name = page.getByLabel('Name');
  await name.fill('localhost');
  await page.getByLabel('Type').selectOption({ label: 'Office 365' });
  await page.getByRole('button', { name: 'Next' }).click();
  // Without JavaScript the error comes back through the URL, which carries only a code (never
  // text someone could craft): the field is marked with Roster's fixed sentence.
  const noJs = test.info().project.use.javaScriptEnabled === false;
  await expect(await fieldError(name)).toHaveText(
    noJs ? 'This value was not accepted. Check it and try again.' : 'Enter the full domain name, e.g. mydomain.org.',
  );
  await expect(page.getByRole('heading', { name: 'New Domain' })).toBeVisible();
});

test('a name another organization registered is refused', async ({ page, login, browser }) => {
  const name = uniqueDomain('taken');
  const other = await signedInPage(browser, createOrganization('other'));
  await addDomain(other, name, 'Office 365');
  await other.context().close();

  await signIn(page, login);
  await page.goto('/domains/new');
  await hydrated(page);
  // Typed differently: the check is on the normalized name.
  await page.getByLabel('Name').fill(name.toUpperCase());
  await page.getByLabel('Type').selectOption({ label: 'On Premise/Hosted Exchange or Other' });
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(await fieldError(page.getByLabel('Name'))).toHaveText(
    'This domain is already registered with the service. If it is yours, contact support.',
  );
  await expect(page).toHaveURL(/\/domains\/new$/);

  await page.goto('/domains');
  await hydrated(page);
  await expect(page.getByRole('link', { name })).toHaveCount(0);
});
