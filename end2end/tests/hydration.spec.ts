import { test, expect, signIn, addDomain, uniqueDomain } from './fixtures';
import type { Page } from '@playwright/test';

// KNOWN BUG (both tests are marked test.fail until it is fixed; remove the test.fail() lines
// then): a domain page loaded directly (typed URL, bookmark, reload) usually fails to
// hydrate: measured 11 of 12 loads of Inbound Servers, 7 of 12 of Email Accounts, 9 of 12 of Office 365 Sync. The browser console shows
//   "A hydration error occurred while trying to hydrate an element defined at
//    app/src/pages/inbound_servers.rs:126:22 … Unrecoverable hydration error"
// (build of 01:38: the search <input> in the <Form method="GET">; on /accounts
// email_accounts.rs:87:18, the Search button after the search <input>; on /sync/office365
// office365_sync.rs:42:10, the "Grant permission" <section>), then an
// uncaught "unreachable". The page's list is fetched again right after the load
// (list_mail_servers, list_accounts, get_sync_settings). Usually <body data-hydrated="true">
// is set all the same, so `hydrated(page)` can't tell; sometimes it never is, and
// `hydrated(page)` waits forever. The forms after the failing point stay plain HTML forms:
// Save posts the whole page and reloads it, so "Saved" never appears and dialogs can't show
// their errors. Reaching the same page by following links (client-side navigation) works, and
// /login, /domains, /domains/new and /admins hydrate fine.

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

/**
 * Waits until the app has either hydrated or failed to (a hydration panic can come before
 * `data-hydrated` is set, so `hydrated(page)` alone could wait forever), and has loaded its data.
 */
async function settled(page: Page, errors: string[]) {
  await expect
    .poll(async () => errors.length > 0 || (await page.locator('body[data-hydrated="true"]').count()) > 0, {
      timeout: 30_000,
    })
    .toBe(true);
  await page.waitForLoadState('networkidle');
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
      await expect(page.getByRole('heading', { level: 1 })).toHaveText(
        /^(Inbound Servers|Email Accounts|Office 365 Sync)$/,
      );
      await settled(page, errors);
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

  // Loaded directly: several times, since the failure does not happen on every load (about
  // three loads in four of this page fail).
  const errors = hydrationErrors(page);
  for (let value = 101; value <= 108; value++) {
    await page.reload();
    await settled(page, errors);
    await markDocument(page);
    await total.fill(String(value));
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(form.getByRole('status')).toHaveText('Saved', { timeout: 5_000 });
    expect(await documentMark(page)).toBe('still here');
  }
});
