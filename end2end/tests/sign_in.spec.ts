import { test, expect, signIn, hydrated, createOrganization } from './fixtures';

test('signs in and out @nojs', async ({ page, login }) => {
  await signIn(page, login);
  await expect(page.getByText(login.org)).toBeVisible();
  await expect(page.getByText(login.email)).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { name: 'Sign in to Roster' })).toBeVisible();
  await page.goto('/domains');
  await expect(page).toHaveURL(/\/login$/);
});

test('a wrong password and an unknown email get the same message @nojs', async ({ page, login }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(login.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'email or password is not correct' });
  await expect(alert).toBeVisible();

  await page.getByLabel('Email').fill('nobody@nowhere.example');
  await page.getByLabel('Password').fill(login.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(alert).toBeVisible();
  await expect(page).toHaveURL(/\/login/);
});

test('ten failed sign-ins lock the account', async ({ page }) => {
  const login = createOrganization('lock');
  await page.goto('/login');
  await hydrated(page);
  for (let i = 0; i < 10; i++) {
    await page.getByLabel('Email').fill(login.email);
    await page.getByLabel('Password').fill(`wrong password ${i}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeEnabled();
  }
  await expect(page.getByRole('alert')).toContainText('Too many failed sign-in attempts');
  // Even the right password waits now.
  await page.getByLabel('Email').fill(login.email);
  await page.getByLabel('Password').fill(login.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('Please wait 15 minute');
  await expect(page).toHaveURL(/\/login/);
});
