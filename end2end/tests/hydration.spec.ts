import { test, expect, signIn, hydrated, addDomain, uniqueDomain } from './fixtures';
import type { Page } from '@playwright/test';

// KNOWN BUG (marked test.fail until it is fixed; remove the test.fail() line then):
// a domain page loaded directly (typed URL, reload, or the redirect after a form posted
// without JavaScript) often fails to hydrate. The browser console shows
//   "A hydration error occurred while trying to hydrate an element defined at
//    app/src/pages/inbound_servers.rs:124:22 … Unrecoverable hydration error"
// (email_accounts.rs:82:18 on /accounts, office365_sync.rs:38:10 on /sync/office365) and then
// "unreachable". <body data-hydrated="true"> is set all the same, so `hydrated(page)` can't
// tell. The list's resource is fetched again right after the load (list_mail_servers,
// list_accounts, get_sync_settings) and the forms inside the page's <Transition> stay plain
// HTML forms: Save posts the whole page and reloads it, so "Saved" never appears.
// Reaching the same page by following links (client-side navigation) works.

/** Records hydration errors and uncaught exceptions of the page. */
function hydrationErrors(page: Page) {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /hydrat|panicked/i.test(message.text())) {
      errors.push(message.text().split('\n')[0]);
    }
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/** Marks the document, so a later check can tell whether the page was reloaded meanwhile. */
async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { __e2eMark: string }).__e2eMark = 'still here'));
}

async function documentMark(page: Page) {
  return page.evaluate(() => (window as unknown as { __e2eMark?: string }).__e2eMark);
}

test('domain pages loaded directly hydrate without errors', async ({ page, login }) => {
  test.fail(true, 'Known bug: direct loads of domain pages hit an unrecoverable hydration error');
  await signIn(page, login);
  await addDomain(page, uniqueDomain('hyd'), 'Office 365');
  const base = new URL(page.url()).pathname;
  const errors = hydrationErrors(page);
  // Each page a few times: the failure does not happen on every single load.
  for (const path of [base, `${base}/accounts`, `${base}/sync/office365`]) {
    for (let i = 0; i < 3; i++) {
      await page.goto(path);
      await hydrated(page);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(
        /^(Inbound Servers|Email Accounts|Office 365 Sync)$/,
      );
      // Wait until the page's own data has been loaded (or reloaded) in the browser.
      await page.waitForLoadState('networkidle');
    }
  }
  expect(errors).toEqual([]);
});

test('after a reload, saving a form confirms "Saved" without reloading the page', async ({ page, login }) => {
  test.fail(true, 'Known bug: after a direct load the forms are not hydrated and post the whole page');
  await signIn(page, login);
  await addDomain(page, uniqueDomain('hyd'), 'Office 365');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' }).click();
  const form = page.getByRole('region', { name: 'Operations Limit' });
  const total = form.getByLabel('Total Operations – Limit');
  // Reached by following links: works.
  await total.fill('100');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved');

  // Loaded directly: a few times, since the failure does not happen on every load.
  for (const value of ['101', '102', '103']) {
    await page.reload();
    await hydrated(page);
    await page.waitForLoadState('networkidle');
    await markDocument(page);
    await total.fill(value);
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form.getByRole('status')).toHaveText('Saved', { timeout: 5_000 });
    expect(await documentMark(page)).toBe('still here');
  }
});
