import { test, expect, signIn, hydrated, loadToLook, addDomain, uniqueDomain, fieldError } from './fixtures';
import type { Page } from '@playwright/test';

/** Adds an Office 365 domain and opens its Office 365 Sync page through the menu. */
async function openSync(page: Page) {
  const domain = uniqueDomain('sync');
  await addDomain(page, domain, 'Office 365');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' }).click();
  await expect(page.getByRole('heading', { name: 'Office 365 Sync', level: 1 })).toBeVisible();
  await expect(page).toHaveURL(/\/domains\/[0-9a-f-]{36}\/sync\/office365$/);
  return domain;
}

/** Reloads the page, to see what the server has stored (nothing is clicked afterwards). */
async function reload(page: Page) {
  await loadToLook(page);
}

/**
 * Opens the domain's Office 365 Sync page again by following links, to go on editing.
 * (Editing right after a reload is not reliable: see hydration.spec.ts.)
 */
async function reopen(page: Page, domain: string) {
  await page.goto('/domains');
  await hydrated(page);
  await page.getByRole('link', { name: domain, exact: true }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' }).click();
  await expect(page.getByRole('heading', { name: 'Office 365 Sync', level: 1 })).toBeVisible();
}

function autoSync(page: Page) {
  const form = page.getByRole('region', { name: 'Automatic Synchronization' });
  return {
    form,
    enabled: form.getByLabel('Auto sync enabled'),
    schedule: form.getByLabel('Schedule'),
    notify: form.getByLabel('Sync notifications enabled'),
    recipients: form.getByLabel('Notification recipients'),
    exclude: form.getByLabel('Exclude Records'),
    save: form.getByRole('button', { name: 'Save' }),
    saved: form.getByRole('status').filter({ hasText: 'Saved' }),
  };
}

const LIMIT_LABELS = [
  'Email Accounts – Add Limit',
  'Email Accounts – Delete Limit',
  'Aliases – Add Limit',
  'Aliases – Delete Limit',
  'Total Operations – Limit',
];

function limits(page: Page) {
  const form = page.getByRole('region', { name: 'Operations Limit' });
  return {
    form,
    fields: LIMIT_LABELS.map((label) => form.getByLabel(label, { exact: true })),
    save: form.getByRole('button', { name: 'Save' }),
    saved: form.getByRole('status').filter({ hasText: 'Saved' }),
  };
}

async function expectLimits(page: Page, values: string[]) {
  const { fields } = limits(page);
  for (const [i, field] of fields.entries()) await expect(field).toHaveValue(values[i]);
}

test('the page before permission is granted', async ({ page, login }) => {
  await signIn(page, login);
  await openSync(page);
  const grant = page.getByRole('region', { name: 'Microsoft 365 connection' });
  await expect(grant).toContainText(
    "Before you proceed you need to grant Roster permission to read your Office 365 organization's user list. You will be redirected to Microsoft.",
  );
  await expect(grant.getByRole('button')).toHaveText(['Grant permission']);
  // Test Connection comes once connected; Manual Sync with its issue.
  await expect(page.getByRole('button', { name: /Test Connection/i })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /Manual Sync/i })).toHaveCount(0);

  const history = page.getByRole('region', { name: 'Sync History' });
  await expect(history.getByRole('columnheader')).toHaveText(['Synced', 'Synced By', 'Test Sync', 'Summary']);
  await expect(history.getByRole('cell')).toHaveText(['Nothing found']);

  // Defaults of a new domain.
  const auto = autoSync(page);
  await expect(auto.enabled).not.toBeChecked();
  await expect(auto.schedule).toHaveValue('1');
  await expect(auto.notify).not.toBeChecked();
  await expect(auto.recipients).toHaveValue('');
  await expect(auto.exclude).toHaveValue('');
  await expectLimits(page, ['', '', '', '', '']);
});

test('automatic synchronization settings are saved', async ({ page, login }) => {
  await signIn(page, login);
  const domain = await openSync(page);
  const auto = autoSync(page);
  await expect(auto.saved).toHaveCount(0);

  await auto.enabled.check();
  await auto.schedule.selectOption('4');
  await auto.notify.check();
  await auto.recipients.fill('ops@example.com\nit@example.com');
  await auto.exclude.fill('test*@example.com');
  await auto.save.click();
  await expect(auto.saved).toHaveText('Saved');

  await reload(page);
  await expect(auto.enabled).toBeChecked();
  await expect(auto.schedule).toHaveValue('4');
  await expect(auto.schedule.locator('option:checked')).toHaveText('4');
  await expect(auto.notify).toBeChecked();
  await expect(auto.recipients).toHaveValue('ops@example.com\nit@example.com');
  await expect(auto.exclude).toHaveValue('test*@example.com');

  // Turning things off is saved too.
  await reopen(page, domain);
  await auto.enabled.uncheck();
  await auto.notify.uncheck();
  await auto.recipients.fill('');
  await auto.save.click();
  await expect(auto.saved).toHaveText('Saved');
  await reload(page);
  await expect(auto.enabled).not.toBeChecked();
  await expect(auto.notify).not.toBeChecked();
  await expect(auto.recipients).toHaveValue('');
  await expect(auto.schedule).toHaveValue('4');
  await expect(auto.exclude).toHaveValue('test*@example.com');
});

test('invalid automatic synchronization settings are explained and not saved', async ({ page, login }) => {
  await signIn(page, login);
  const domain = await openSync(page);
  const auto = autoSync(page);
  await auto.schedule.selectOption('2');
  await auto.exclude.fill('keep*@example.com');
  await auto.save.click();
  await expect(auto.saved).toHaveText('Saved');
  await reopen(page, domain);

  // Notifications without recipients.
  await auto.enabled.check();
  await auto.schedule.selectOption('3');
  await auto.notify.check();
  await auto.recipients.fill('');
  await auto.save.click();
  const recipientsError = await fieldError(auto.recipients);
  await expect(recipientsError).toHaveText('Enter at least one recipient, or turn sync notifications off.');
  await expect(recipientsError).toHaveRole('alert');
  await expect(auto.saved).toHaveCount(0);

  await reload(page);
  await expect(auto.enabled).not.toBeChecked();
  await expect(auto.schedule).toHaveValue('2');
  await expect(auto.notify).not.toBeChecked();
  await expect(auto.exclude).toHaveValue('keep*@example.com');

  // A pattern with an unclosed bracket on line 2.
  await reopen(page, domain);
  await auto.exclude.fill('ok*@example.com\n[abc');
  await auto.save.click();
  const excludeError = await fieldError(auto.exclude);
  await expect(excludeError).toContainText('Line 2');
  await expect(excludeError).toHaveText('Line 2: A “[” is missing its closing “]”.');
  // What was typed is still there, to be corrected.
  await expect(auto.exclude).toHaveValue('ok*@example.com\n[abc');
  await expect(recipientsError).toBeEmpty();
  await expect(auto.saved).toHaveCount(0);

  // An invalid recipient.
  await reopen(page, domain);
  await auto.notify.check();
  await auto.recipients.fill('ops@example.com\nnot an address');
  await auto.save.click();
  await expect(recipientsError).toContainText('“not an address” is not a valid email address');

  await reload(page);
  await expect(auto.enabled).not.toBeChecked();
  await expect(auto.schedule).toHaveValue('2');
  await expect(auto.notify).not.toBeChecked();
  await expect(auto.recipients).toHaveValue('');
  await expect(auto.exclude).toHaveValue('keep*@example.com');
});

test('operation limits are saved, and empty means no limit', async ({ page, login }) => {
  await signIn(page, login);
  const domain = await openSync(page);
  const form = limits(page);
  const values = ['10', '20', '30', '40', ''];
  for (const [i, field] of form.fields.entries()) await field.fill(values[i]);
  await form.save.click();
  await expect(form.saved).toHaveText('Saved');
  await reload(page);
  await expectLimits(page, values);

  // Change some, clear one.
  await reopen(page, domain);
  const changed = ['0', '', '30', '40', '1000000'];
  for (const [i, field] of form.fields.entries()) await field.fill(changed[i]);
  await form.save.click();
  await expect(form.saved).toHaveText('Saved');
  await reload(page);
  await expectLimits(page, changed);
});

test('invalid operation limits are explained at the field and not saved', async ({ page, login }) => {
  await signIn(page, login);
  const domain = await openSync(page);
  const form = limits(page);
  const saved = ['10', '20', '30', '40', ''];
  for (const [i, field] of form.fields.entries()) await field.fill(saved[i]);
  await form.save.click();
  await expect(form.saved).toHaveText('Saved');

  const cases: [number, string, string][] = [
    [0, '-1', 'The limit cannot be negative.'],
    [2, 'abc', 'Enter a whole number between 0 and 1,000,000, or leave empty for no limit.'],
    [4, '1000001', 'The limit can be at most 1,000,000.'],
  ];
  for (const [index, value, message] of cases) {
    await reopen(page, domain);
    const field = form.fields[index];
    await field.fill(value);
    await form.save.click();
    const error = await fieldError(field);
    await expect(error).toContainText(message);
    await expect(error).toHaveRole('alert');
    await expect(field).toHaveValue(value);
    // Only that field is blamed.
    for (const [i, other] of form.fields.entries()) {
      if (i !== index) await expect(await fieldError(other)).toBeEmpty();
    }
    await expect(form.saved).toHaveCount(0);
    await reload(page);
    await expectLimits(page, saved);
  }
});
