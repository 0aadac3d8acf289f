#!/usr/bin/python3
"""Loads the test directory (directory_data.py) into a freshly provisioned, stopped Samba AD DC.

Run by ./dev with Debian's /usr/bin/python3 (Samba's Python bindings live there), before samba
starts: writing sam.ldb directly takes ~7 s for the 3,000 members of `big`, where creating them
over LDAP would take minutes. Objects go through Samba's own database modules, so they get what
AD gives them (objectGUID, objectSid, memberOf, …).

Usage: samba_populate.py SMB_CONF
"""
import os
import sys
import time

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import directory_data as d  # noqa: E402

NORMAL = 0x200
DISABLED = 0x2
# groupType: universal distribution group (mail only), global security group.
UNIVERSAL_DISTRIBUTION = "8"
GLOBAL_SECURITY = "-2147483646"
# Adds per transaction: one transaction for everything is twice as slow (Samba's index cache).
BATCH = 500


def password_value(password):
    return ('"%s"' % password).encode("utf-16-le")


def main():
    lp = LoadParm()
    lp.load(sys.argv[1])
    db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    base = str(db.domain_dn())
    realm = lp.get("realm").lower()
    started = time.time()

    messages = []
    dns = {}
    for ou in ["System", "People", "Groups", "Contacts"]:
        messages.append({"dn": "OU=%s,%s" % (ou, base), "objectClass": "organizationalUnit"})

    def user(uid, given, surname, parent, mail=None, proxy=(), disabled=False, password=True):
        dn = "CN=%s,OU=%s,%s" % (uid, parent, base)
        dns[uid] = dn
        msg = {"dn": dn, "objectClass": "user", "sAMAccountName": uid,
               "userPrincipalName": "%s@%s" % (uid, realm),
               "givenName": given, "sn": surname, "displayName": "%s %s" % (given, surname),
               "userAccountControl": str(NORMAL | (DISABLED if disabled else 0))}
        if mail:
            msg["mail"] = mail
        if proxy:
            msg["proxyAddresses"] = list(proxy)
        if password:
            msg["unicodePwd"] = password_value(d.PASSWORD)
        messages.append(msg)

    # The readers Roster binds as: an ordinary user, and a disabled one (valid password).
    user("roster-reader", "Roster", "Reader", "System")
    user("roster-disabled", "Roster", "Disabled", "System", disabled=True)
    for u in d.USERS:
        user(u.uid, u.given, u.surname, "People", u.mail, u.proxy, u.disabled)
    # Hashing a password costs ~20 ms: the 3,000 members of `big` have none (they are
    # still normal, enabled accounts: 512 plus "password not required" as Samba sets it).
    for u in d.BIG_USERS:
        user(u.uid, u.given, u.surname, "People", u.mail, u.proxy, u.disabled, password=False)
    for c in d.CONTACTS:
        dn = "CN=%s,OU=Contacts,%s" % (c.cn, base)
        dns[c.key] = dn
        messages.append({"dn": dn, "objectClass": "contact", "displayName": c.cn,
                         "mail": c.mail, "proxyAddresses": c.proxy})
    for g in d.GROUPS:
        dns[g.cn] = "CN=%s,OU=Groups,%s" % (g.cn, base)
    for g in d.GROUPS:
        msg = {"dn": dns[g.cn], "objectClass": "group", "sAMAccountName": g.cn,
               "groupType": UNIVERSAL_DISTRIBUTION if g.mail else GLOBAL_SECURITY}
        if g.mail:
            msg["mail"] = g.mail
            msg["proxyAddresses"] = g.proxy
        # Members that are groups created later (the cycle) are added afterwards.
        msg["member"] = [dns[m] for m in g.members if m not in {x.cn for x in d.GROUPS}]
        messages.append(msg)

    for i in range(0, len(messages), BATCH):
        db.transaction_start()
        try:
            for msg in messages[i:i + BATCH]:
                if "member" in msg and not msg["member"]:
                    del msg["member"]
                db.add(msg)
        except Exception:
            db.transaction_cancel()
            raise
        db.transaction_commit()

    # Groups in groups (all-staff ∋ sales; cycle-a ∋ cycle-b ∋ cycle-a).
    db.transaction_start()
    for g in d.GROUPS:
        nested = [dns[m] for m in g.members if m in {x.cn for x in d.GROUPS}]
        if nested:
            db.modify_ldif("dn: %s\nchangetype: modify\nadd: member\n%s\n" % (
                dns[g.cn], "\n".join("member: " + m for m in nested)))
    db.transaction_commit()
    print("loaded %d objects in %.1f s" % (len(messages), time.time() - started))


if __name__ == "__main__":
    main()
