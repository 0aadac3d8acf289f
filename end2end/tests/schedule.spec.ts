import { test, expect, signIn, hydrated, addDomain, uniqueDomain } from './fixtures';

// The admin's browser is in Tokyo (UTC+9, no daylight saving): the next slot is shown there.
test.use({ timezoneId: 'Asia/Tokyo', locale: 'en-US' });

test('Automatic Synchronization shows the next sync in the browser’s time zone, or that it is off', async ({ page, login }) => {
  await signIn(page, login);
  await addDomain(page, uniqueDomain('sched'), 'Office 365');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Office 365 Sync' }).click();
  await expect(page.getByRole('heading', { name: 'Office 365 Sync', level: 1 })).toBeVisible();
  const form = page.getByRole('region', { name: 'Automatic Synchronization' });
  await expect(form).toContainText('Automatic Synchronization is off.');
  await expect(form).not.toContainText('Next sync:');

  await form.getByLabel('Auto sync enabled').check();
  await form.getByLabel('Schedule').selectOption('4');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toHaveText('Saved');
  const next = form.getByText('Next sync:');
  // Hydrated: the browser's own zone (e.g. "Next sync: Dec 3, 2026, 7:15 PM GMT+9"), not UTC.
  await expect(next).toHaveText(/^Next sync: [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}\s?[AP]M GMT\+9$/);
  await expect(form).not.toContainText('Automatic Synchronization is off.');
  // The same instant as the server's, which renders it in UTC until the page is hydrated.
  const datetime = await next.locator('time').getAttribute('datetime');
  expect(datetime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  const html = await (await page.request.get(page.url())).text();
  expect(html).toMatch(/Next sync: [\s\S]{0,300}?\d{4}-\d\d-\d\d \d\d:\d\d UTC/);

  await form.getByLabel('Auto sync enabled').uncheck();
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form).toContainText('Automatic Synchronization is off.');
  await expect(form).not.toContainText('Next sync:');
});
