import { test, expect, signIn, hydrated, addDomain, uniqueDomain, signedInPage, PASSWORD } from './fixtures';
import type { Page } from '@playwright/test';

/** Records every Content-Security-Policy violation the page reports, in the console or as an event. */
async function cspViolations(page: Page) {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(message.text())) {
      violations.push(message.text().split('\n')[0]);
    }
  });
  await page.exposeFunction('__reportCsp', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __reportCsp: (t: string) => void }).__reportCsp(
        `${e.violatedDirective}: ${e.blockedURI}`,
      );
    });
  });
  return violations;
}

test('pages hydrate under the Content-Security-Policy without a violation', async ({ page, login }) => {
  const violations = await cspViolations(page);
  await signIn(page, login);
  const name = uniqueDomain('csp');
  await addDomain(page, name, 'Office 365');
  const domainUrl = page.url();
  for (const path of ['/domains', '/admins', new URL(domainUrl).pathname, `${new URL(domainUrl).pathname}/sync/office365`]) {
    const response = await page.goto(path);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await hydrated(page);
    await page.waitForLoadState('networkidle');
  }
  expect(violations).toEqual([]);
});

test('an admin removes another admin, who is signed out at once', async ({ page, browser, login }) => {
  await signIn(page, login);
  await page.goto('/admins');
  await hydrated(page);
  const other = `other-${Date.now()}-${Math.floor(Math.random() * 1e6)}@${login.org.toLowerCase()}.example`;
  await page.getByLabel('Email').fill(other);
  await page.getByLabel('Initial password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Add admin' }).click();
  await expect(page.getByRole('cell', { name: other, exact: true })).toBeVisible();

  const theirs = await signedInPage(browser, { email: other, password: PASSWORD, org: login.org });

  // No Remove button on your own row.
  await expect(page.getByRole('button', { name: `Remove ${login.email}` })).toHaveCount(0);
  // The confirmation dialog works from the keyboard: Escape closes it, Enter confirms.
  const remove = page.getByRole('button', { name: `Remove ${other}` });
  await remove.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: `Remove ${other}?` });
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await remove.click();
  await dialog.getByRole('button', { name: 'Remove admin' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('cell', { name: other, exact: true })).toHaveCount(0);

  await theirs.goto('/domains');
  await expect(theirs).toHaveURL(/\/login$/);
});
