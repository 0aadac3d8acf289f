import { test as base, expect, Browser, Locator, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';

export const PASSWORD = 'a long and secret password';

export type Login = { email: string; password: string; org: string };

/** A fresh organization with its first admin, created by the operator command. */
export function createOrganization(prefix = 'org'): Login {
  const id = randomUUID().slice(0, 8);
  const org = `${prefix}-${id}`;
  const email = `admin-${id}@${prefix}.example`;
  const bin = process.env.ROSTER_BIN ?? '../target/debug/roster-server';
  execFileSync(bin, ['create-org', '--name', org, '--admin-email', email], {
    env: { ...process.env, ROSTER_ADMIN_PASSWORD: PASSWORD, RUST_LOG: 'warn' },
    stdio: 'pipe',
  });
  return { email, password: PASSWORD, org };
}

/** A domain name no other test uses. */
export function uniqueDomain(prefix = 'd'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}.example`;
}

/** Waits until the page has hydrated: clicks before that would do nothing. */
export async function hydrated(page: Page) {
  if (base.info().project.use.javaScriptEnabled !== false) {
    await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached' });
  }
}

/**
 * Loads `path` again (or reloads the page) to look at what the server has stored: waits for
 * the server-rendered page, not for hydration.
 */
export async function loadToLook(page: Page, path?: string) {
  const response = path === undefined ? await page.reload() : await page.goto(path);
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  return response;
}

export async function signIn(page: Page, login: Login) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(login.email);
  await page.getByLabel('Password').fill(login.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Domains' })).toBeVisible();
}

/** Adds a domain through the New Domain page and lands on its Inbound Servers page. */
export async function addDomain(page: Page, name: string, type: string) {
  await page.goto('/domains/new');
  await hydrated(page);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Type').selectOption({ label: type });
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page.getByRole('heading', { name: 'Inbound Servers' })).toBeVisible();
}

/**
 * The error message of a form field: the element its `aria-describedby` names `…-error`,
 * which is what a screen reader announces with the field.
 */
export async function fieldError(field: Locator): Promise<Locator> {
  const ids = (await field.getAttribute('aria-describedby')) ?? '';
  const id = ids.split(/\s+/).find((i) => i.endsWith('-error'));
  if (!id) throw new Error(`the field has no error message in aria-describedby="${ids}"`);
  return field.page().locator(`[id="${id}"]`);
}

/** A page in a browser context of its own (its own cookies), signed in as `login`. */
export async function signedInPage(browser: Browser, login: Login): Promise<Page> {
  const use = base.info().project.use;
  const context = await browser.newContext({
    baseURL: use.baseURL,
    javaScriptEnabled: use.javaScriptEnabled,
  });
  const page = await context.newPage();
  await signIn(page, login);
  return page;
}

/** The id of the domain whose page is open (`/domains/<id>…`). */
export function domainIdFromUrl(page: Page): string {
  const match = /\/domains\/([0-9a-f-]{36})/.exec(page.url());
  if (!match) throw new Error(`not on a domain page: ${page.url()}`);
  return match[1];
}

/** The row of a table whose cells include one with exactly this text. */
export function rowWith(scope: Page | Locator, cellText: string): Locator {
  const page = 'page' in scope ? scope.page() : scope;
  return scope.getByRole('row').filter({ has: page.getByRole('cell', { name: cellText, exact: true }) });
}

/** The cell of `row` in the column headed `column` of `table`. */
export async function columnCell(table: Locator, row: Locator, column: string): Promise<Locator> {
  const headers = (await table.getByRole('columnheader').allTextContents()).map((h) => h.trim());
  const index = headers.indexOf(column);
  if (index < 0) throw new Error(`no column "${column}" in ${JSON.stringify(headers)}`);
  return row.getByRole('cell').nth(index);
}

type Fixtures = { login: Login };

export const test = base.extend<Fixtures>({
  login: async ({}, use) => {
    await use(createOrganization());
  },
});

export { expect };
