import {
  test,
  expect,
  signIn,
  hydrated,
  loadToLook,
  addDomain,
  uniqueDomain,
  createOrganization,
  signedInPage,
  domainIdFromUrl,
} from './fixtures';

test("another organization's domain is not found", async ({ page, login, browser }) => {
  const domain = uniqueDomain('secret');
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  const domainUrl = new URL(page.url()).pathname;
  expect(domainUrl).toMatch(/^\/domains\/[0-9a-f-]{36}$/);
  // Org A's own admin sees all three pages.
  for (const path of [domainUrl, `${domainUrl}/accounts`, `${domainUrl}/sync/office365`]) {
    const response = await loadToLook(page, path);
    expect(response?.status()).toBe(200);
    await expect(page.getByRole('navigation', { name: 'Main' }).getByText(domain, { exact: true })).toBeVisible();
  }

  const other = await signedInPage(browser, createOrganization('intruder'));
  try {
    for (const path of [domainUrl, `${domainUrl}/accounts`, `${domainUrl}/sync/office365`]) {
      const response = await loadToLook(other, path);
      expect(response?.status(), path).toBe(404);
      await expect(other.getByRole('heading', { name: 'Not found' })).toBeVisible();
      await expect(other.getByText(domain)).toHaveCount(0);
      expect(await other.content()).not.toContain(domain);
      await expect(other.getByRole('heading', { name: /Inbound Servers|Email Accounts|Office 365 Sync/ })).toHaveCount(0);
    }

    await other.goto('/domains');
    await hydrated(other);
    await expect(other.getByRole('heading', { name: 'Domains' })).toBeVisible();
    await expect(other.getByRole('cell', { name: /No domains yet/ })).toBeVisible();
    await expect(other.getByText(domain)).toHaveCount(0);
  } finally {
    await other.context().close();
  }
});

test("another organization's domain can't be read or changed through the server functions", async ({
  page,
  login,
  browser,
}) => {
  const domain = uniqueDomain('secret');
  const host = `mx.${domain}`;
  await signIn(page, login);
  await addDomain(page, domain, 'Office 365');
  const domainId = domainIdFromUrl(page);

  // Org A: a mail server, and an account with an alias.
  const servers = page.getByRole('region', { name: 'Mail servers' });
  await servers.getByRole('button', { name: 'Add', exact: true }).click();
  const addServer = page.getByRole('dialog', { name: 'Add a mail server' });
  await addServer.getByLabel('Host name or IP address').fill(host);
  await addServer.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(addServer).toBeHidden();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email Accounts' }).click();
  await page.getByRole('main').getByRole('button', { name: 'Add account' }).click();
  const addAccount = page.getByRole('dialog', { name: 'Add an email account' });
  await addAccount.getByLabel('Address').fill('boss');
  await addAccount.getByLabel('Aliases').fill('chief');
  await addAccount.getByRole('button', { name: 'Add account' }).click();
  await expect(addAccount).toBeHidden();
  await expect(page.getByRole('cell', { name: `boss@${domain}`, exact: true })).toBeVisible();

  // Their ids, as org A's own browser gets them.
  const ownCall = (endpoint: string, form: Record<string, string>) =>
    page.request.post(`/api/${endpoint}`, { form, headers: { Accept: 'application/json' } });
  const serverList = await (await ownCall('list_mail_servers', { domain_id: domainId, search: '' })).json();
  const serverId: string = serverList[0].id;
  const accountList = await (await ownCall('list_accounts', { domain_id: domainId, search: '' })).json();
  const accountId: string = accountList.rows[0].id;
  expect(serverId).toMatch(/^[0-9a-f-]{36}$/);
  expect(accountId).toMatch(/^[0-9a-f-]{36}$/);

  const other = await signedInPage(browser, createOrganization('intruder'));
  try {
    const call = (endpoint: string, form: Record<string, string>) =>
      other.request.post(`/api/${endpoint}`, { form, headers: { Accept: 'application/json' } });
    const account = { domain_id: domainId, account_id: accountId };
    const calls: [string, Record<string, string>][] = [
      ['get_domain', { domain_id: domainId }],
      ['list_mail_servers', { domain_id: domainId, search: '' }],
      ['list_accounts', { domain_id: domainId, search: '' }],
      ['get_sync_settings', { domain_id: domainId }],
      ['set_server_type', { domain_id: domainId, server_type: 'on_premise' }],
      ['set_delivery_port', { domain_id: domainId, port: '2525' }],
      ['add_mail_server', { domain_id: domainId, host: 'mx.intruder.example', priority: '1' }],
      ['delete_mail_server', { domain_id: domainId, mail_server_id: serverId }],
      ['add_account', { domain_id: domainId, local_part: 'intruder', kind: 'mailbox', aliases: '' }],
      ['add_alias', { ...account, alias: 'intruder' }],
      ['remove_alias', { ...account, alias: `chief@${domain}` }],
      ['set_account_kind', { ...account, kind: 'distribution_list' }],
      ['delete_account', account],
      [
        'save_auto_sync',
        { domain_id: domainId, times_per_day: '4', notifications_enabled: 'on', notification_recipients: 'x@intruder.example' },
      ],
      ['save_operation_limits', { domain_id: domainId, total_limit: '1' }],
    ];
    for (const [endpoint, form] of calls) {
      const response = await call(endpoint, form);
      expect(response.status(), endpoint).toBe(404);
      const body = await response.text();
      expect(body, endpoint).not.toContain(domain);
      expect(body, endpoint).not.toContain(host);
    }
  } finally {
    await other.context().close();
  }

  // Nothing changed for the owner.
  await loadToLook(page);
  const boss = page.getByRole('row').filter({ has: page.getByRole('cell', { name: `boss@${domain}`, exact: true }) });
  await expect(boss.getByRole('cell')).toHaveText([`boss@${domain}`, 'Mailbox', `chief@${domain}`, 'Manual', /UTC/, /Edit/]);
  await expect(page.getByRole('status').filter({ hasText: 'account' })).toHaveText('1 account');

  await loadToLook(page, `/domains/${domainId}`);
  const settings = page.getByRole('definition');
  await expect(
    settings.filter({ has: page.getByRole('button', { name: 'Edit server type' }) }).getByText('Office 365', { exact: true }),
  ).toBeVisible();
  await expect(
    settings.filter({ has: page.getByRole('button', { name: 'Edit delivery port' }) }).getByText('25', { exact: true }),
  ).toBeVisible();
  await expect(servers.getByRole('row')).toHaveCount(2);
  await expect(servers.getByRole('cell', { name: host, exact: true })).toBeVisible();

  const syncSettings = await (await ownCall('get_sync_settings', { domain_id: domainId })).json();
  expect(syncSettings).toMatchObject({ times_per_day: 1, notifications_enabled: false, total_limit: null });
});
