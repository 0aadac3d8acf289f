import { test, expect, signIn, addDomain, uniqueDomain, hydrated, fieldError, loadToLook } from './fixtures';
import { emulator } from './m365';
import type { Page } from '@playwright/test';

const ON_PREMISE = 'On Premise/Hosted Exchange or Other';
const OPENLDAP_FILTER = '(&(mail=*)(|(objectClass=inetOrgPerson)(objectClass=groupOfNames)))';

function connection(page: Page) {
  return page.getByRole('region', { name: 'Directory connection' });
}

function syncPanel(page: Page) {
  return page.getByRole('region', { name: 'Synchronize' });
}

/** From the domain's pages to its AD/LDAP Sync page, hydrated. */
async function openLdapSync(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'AD/LDAP Sync' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'AD/LDAP Sync' })).toBeVisible();
  await hydrated(page);
}

/** Fills the connection fields a preset does not fill. */
async function fillConnection(page: Page, s: { servers: string; user: string; password: string; baseDn: string }) {
  const form = connection(page);
  await form.getByLabel('Active Directory/LDAP Servers').fill(s.servers);
  await form.getByLabel('User', { exact: true }).fill(s.user);
  await form.getByLabel('Password').fill(s.password);
  await form.getByLabel('Base DN List').fill(s.baseDn);
}

test('a preset fills the form, Save keeps the settings and the password is never shown again', async ({ page, login }) => {
  const password = 'Ldap-e2e-secret-1';
  await signIn(page, login);
  await addDomain(page, uniqueDomain('ldap'), ON_PREMISE);
  await openLdapSync(page);
  const form = connection(page);
  await expect(form.getByText('LDAP sync is not configured')).toHaveCount(0);

  await form.getByRole('group', { name: 'Fill defaults for:' }).getByRole('button', { name: 'OpenLDAP' }).click();
  await expect(form.getByLabel('LDAP search string')).toHaveValue(OPENLDAP_FILTER);
  await expect(form.getByLabel('Email Attribute')).toHaveValue('mail');
  await expect(form.getByLabel('Alias Attribute(s)')).toHaveValue('mailLocalAddress');
  await expect(form.getByLabel('Distribution List Attribute')).toHaveValue('objectClass');
  await expect(form.getByLabel('Distribution List Value')).toHaveValue('groupOfNames');
  await expect(form.getByLabel('Port')).toHaveValue('636');

  // Plain LDAP and an unchecked certificate are each warned about.
  await form.getByLabel('Security').selectOption({ label: 'None (plain LDAP)' });
  await expect(form.getByRole('note').filter({ hasText: 'travel in clear text' })).toBeVisible();
  await form.getByLabel('Security').selectOption({ label: 'SSL (LDAPS)' });
  await expect(form.getByRole('note').filter({ hasText: 'travel in clear text' })).toHaveCount(0);
  await form.getByLabel("Verify the server's certificate").uncheck();
  await expect(form.getByRole('note').filter({ hasText: 'will not be checked' })).toBeVisible();
  await form.getByLabel("Verify the server's certificate").check();

  await fillConnection(page, {
    servers: 'ldap1.example.net, ldap2.example.net',
    user: 'cn=roster,ou=Service,dc=example,dc=net',
    password,
    baseDn: 'ou=People,dc=example,dc=net\nou=Lists,dc=example,dc=net',
  });
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();

  // What the server stored, without the password.
  await loadToLook(page);
  const stored = connection(page);
  await expect(stored.getByLabel('Active Directory/LDAP Servers')).toHaveValue('ldap1.example.net, ldap2.example.net');
  await expect(stored.getByLabel('LDAP search string')).toHaveValue(OPENLDAP_FILTER);
  await expect(stored.getByLabel('Base DN List')).toHaveValue('ou=People,dc=example,dc=net\nou=Lists,dc=example,dc=net');
  await expect(stored.getByLabel('Password')).toHaveValue('');
  await expect(stored).toContainText('A password is saved (it is never shown). Leave this empty to keep it.');
  await expect(stored).toContainText(`Saved by ${login.email}`);
  expect(await page.content()).not.toContain(password);
  await expect(stored.getByRole('button', { name: 'Test Connection' })).toBeVisible();
});

test('a bad field is named next to it and nothing is saved', async ({ page, login }) => {
  await signIn(page, login);
  await addDomain(page, uniqueDomain('ldapbad'), ON_PREMISE);
  await openLdapSync(page);
  const form = connection(page);
  await fillConnection(page, {
    servers: 'ldap://dc1.example.net',
    user: 'roster@example.net',
    password: 'whatever-it-is',
    baseDn: 'dc=example,dc=net',
  });
  await form.getByRole('button', { name: 'Save' }).click();
  const servers = form.getByLabel('Active Directory/LDAP Servers');
  await expect(await fieldError(servers)).toContainText('is not a host name or IP address');
  // What was typed stays for correcting.
  await expect(servers).toHaveValue('ldap://dc1.example.net');

  await loadToLook(page);
  await expect(connection(page).getByLabel('Active Directory/LDAP Servers')).toHaveValue('');
  await expect(connection(page).getByRole('button', { name: 'Test Connection' })).toHaveCount(0);
});

/** The test slapd that `./dev ldap-test-servers` starts (a subtree with 3 users and 1 list at
 *  ldap-e2e.example). */
function slapd() {
  const env = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run the suite through ./dev, which starts the LDAP test servers`);
    return value;
  };
  return {
    port: env('ROSTER_TEST_SLAPD_PORT'),
    bindDn: env('ROSTER_TEST_SLAPD_BIND_DN'),
    password: env('ROSTER_TEST_SLAPD_PASSWORD'),
    baseDn: env('ROSTER_TEST_SLAPD_BASE_DN'),
  };
}

/** Publishes TXT records for `name` on the emulator's DNS server (Roster's ROSTER_DNS_SERVER). */
async function publishTxt(name: string, txt: string[]) {
  const response = await fetch(`${emulator}/_emulator/dns/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ txt }),
  });
  expect(response.status, await response.text()).toBe(204);
}

test('against a real slapd: Test Connection shows the records, Manual Sync runs live to its summary', async ({ page, login }) => {
  const server = slapd();
  const domain = 'ldap-e2e.example';
  await signIn(page, login);
  await addDomain(page, domain, ON_PREMISE);
  await hydrated(page);

  // An LDAP domain syncs only once its DNS record proves it is the customer's.
  const ownership = page.getByRole('region', { name: 'Domain ownership' });
  const value = (await ownership.getByLabel('TXT record value').textContent()) ?? '';
  await publishTxt(domain, [value]);
  await ownership.getByRole('button', { name: 'Verify ownership' }).click();
  await expect(ownership.getByRole('status')).toContainText('Ownership verified by DNS on');

  await openLdapSync(page);
  const form = connection(page);
  await form.getByRole('group', { name: 'Fill defaults for:' }).getByRole('button', { name: 'OpenLDAP' }).click();
  await form.getByLabel('Security').selectOption({ label: 'None (plain LDAP)' });
  await form.getByLabel('Port').fill(server.port);
  await fillConnection(page, { servers: '127.0.0.1', user: server.bindDn, password: server.password, baseDn: server.baseDn });
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();

  await form.getByRole('button', { name: 'Test Connection' }).click();
  const tested = page.getByRole('region', { name: 'Test Connection' });
  await expect(tested.getByRole('status')).toContainText('Connection works.');
  const sample = tested.getByRole('table', { name: 'First accounts' });
  // 3 users and 1 list, as Roster would store them.
  await expect(sample.getByRole('row')).toHaveCount(5);
  await expect(sample).toContainText(`@${domain}`);
  await expect(sample).toContainText('Distribution list');

  // Manual Sync: the outcome arrives pushed by the server, without a reload.
  await syncPanel(page).getByRole('button', { name: 'Manual Sync' }).click();
  const ended = syncPanel(page).getByRole('status').filter({ hasText: /^Last sync \(/ });
  await expect(ended).toContainText('+4 accounts', { timeout: 30_000 });
  await expect(syncPanel(page).getByRole('button', { name: 'Manual Sync' })).toBeEnabled();
  const history = page.getByRole('region', { name: 'Sync History' }).getByRole('table');
  await expect(history).toContainText(login.email);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await expect(page.getByRole('status').filter({ hasText: /accounts?$/ })).toHaveText('4 accounts');
});
