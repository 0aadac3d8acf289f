#!/usr/bin/env python3
"""Writes the slapd test server's directory (directory_data.py) as LDIF for slapadd.

Users are inetOrgPerson + rosterADRecipient (AD's proxyAddresses, userAccountControl,
sAMAccountName, mailNickname; ad-aux.schema), those with aliases also inetLocalMailRecipient
(mailLocalAddress); groups are groupOfNames + rosterADRecipient; the contact is an
organizationalPerson, outside every documented search filter. Usage: slapd_ldif.py > data.ldif
"""
import sys

import directory_data as d

BASE = "dc=example,dc=org"
PEOPLE = "ou=People," + BASE
GROUPS = "ou=Groups," + BASE
CONTACTS = "ou=Contacts," + BASE
SYSTEM = "ou=System," + BASE
E2E = "ou=E2E," + BASE


def entry(out, dn, attrs):
    out.append("dn: " + dn)
    for name, values in attrs:
        if values is None:
            continue
        for value in values if isinstance(values, list) else [values]:
            out.append("%s: %s" % (name, value))
    out.append("")


def user(out, u, parent):
    classes = ["inetOrgPerson", "rosterADRecipient"] + (["inetLocalMailRecipient"] if u.local else [])
    entry(out, "uid=%s,%s" % (u.uid, parent), [
        ("objectClass", classes), ("uid", u.uid), ("cn", u.cn), ("givenName", u.given),
        ("sn", u.surname), ("mail", u.mail), ("proxyAddresses", u.proxy),
        ("mailLocalAddress", u.local or None), ("sAMAccountName", u.uid),
        ("mailNickname", u.uid if u.mail else None),
        ("userAccountControl", "514" if u.disabled else "512"),
        ("userPassword", d.PASSWORD),
    ])


def main():
    out = []
    entry(out, BASE, [("objectClass", ["dcObject", "organization"]), ("dc", "example"),
                      ("o", "Example")])
    for ou in ["System", "People", "Groups", "Contacts", "E2E"]:
        entry(out, "ou=%s,%s" % (ou, BASE), [("objectClass", "organizationalUnit"), ("ou", ou)])
    for cn in ["roster-reader", "roster-limited"]:
        entry(out, "cn=%s,%s" % (cn, SYSTEM), [
            ("objectClass", ["organizationalRole", "simpleSecurityObject"]), ("cn", cn),
            ("userPassword", d.PASSWORD)])

    dns = {}
    for u in d.USERS + d.BIG_USERS:
        dns[u.uid] = "uid=%s,%s" % (u.uid, PEOPLE)
        user(out, u, PEOPLE)
    for c in d.CONTACTS:
        dns[c.key] = "cn=%s,%s" % (c.cn, CONTACTS)
        entry(out, dns[c.key], [
            ("objectClass", ["organizationalPerson", "rosterADRecipient"]), ("cn", c.cn),
            ("sn", c.cn.split()[-1]), ("mail", c.mail), ("proxyAddresses", c.proxy)])
    for g in d.GROUPS:
        dns[g.cn] = "cn=%s,%s" % (g.cn, GROUPS)

    def group(g, parent):
        entry(out, "cn=%s,%s" % (g.cn, parent), [
            ("objectClass", ["groupOfNames", "rosterADRecipient"]), ("cn", g.cn),
            ("mail", g.mail), ("proxyAddresses", g.proxy or None),
            ("mailNickname", g.cn if g.mail else None), ("sAMAccountName", g.cn),
            ("member", [dns[m] for m in g.members])])

    for g in d.GROUPS:
        group(g, GROUPS)

    for u in d.E2E_USERS:
        dns[u.uid] = "uid=%s,%s" % (u.uid, E2E)
        user(out, u, E2E)
    for g in d.E2E_GROUPS:
        group(g, E2E)

    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
