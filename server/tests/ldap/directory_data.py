"""The test directory served by both LDAP test servers (slapd and Samba's AD DC).

One definition of the recipients, written out by `slapd_ldif.py` (an LDIF for slapadd) and by
`samba_populate.py` (straight into a freshly provisioned Samba database). Python standard
library only: Samba's script imports it under Debian's /usr/bin/python3. README.md lists what a
sync of each server is expected to return.
"""

# Every account that can bind (readers and people) has this password on both servers.
PASSWORD = "Roster-Test-Pass-1"

SYNCED_DOMAIN = "example.org"
BIG_MEMBERS = 3000


class User:
    def __init__(self, uid, given, surname, mail=None, proxy=(), local=(), disabled=False):
        self.uid = uid
        self.given = given
        self.surname = surname
        self.mail = mail
        self.proxy = list(proxy)
        # mailLocalAddress values (misc.schema), only on slapd: the OpenLDAP preset's aliases.
        self.local = list(local)
        self.disabled = disabled

    @property
    def cn(self):
        return "%s %s" % (self.given, self.surname)


class Contact:
    def __init__(self, key, cn, mail, proxy=()):
        self.key = key
        self.cn = cn
        self.mail = mail
        self.proxy = list(proxy)


class Group:
    def __init__(self, cn, mail=None, proxy=(), members=()):
        self.cn = cn
        self.mail = mail
        self.proxy = list(proxy)
        # Keys of USERS, CONTACTS or GROUPS (by cn).
        self.members = list(members)


USERS = [
    User("ann", "Ann", "Smith", "ann@example.org",
         proxy=["SMTP:ann@example.org", "smtp:a.smith@example.org", "smtp:ann@example.net",
                "X500:/o=Org/cn=ann", "SIP:ann@example.org"],
         local=["a.smith@example.org", "ann@example.net"]),
    User("bob", "Bob", "Jones", "bob@example.org"),
    User("carol", "Carol", "White", "carol@example.org",
         proxy=["SMTP:carol@example.org"], disabled=True),
    User("dave", "Dave", "Brown", "dave@example.net",
         proxy=["SMTP:dave@example.net", "smtp:dave@example.org"],
         local=["dave@example.org"]),
    # No address at all: never a recipient.
    User("erin", "Erin", "Nomail"),
]

BIG_USERS = [
    User("big%04d" % i, "Big", "Member %04d" % i, "big%04d@example.org" % i,
         proxy=["SMTP:big%04d@example.org" % i])
    for i in range(1, BIG_MEMBERS + 1)
]

# Outside the search filters (a contact), yet a member of sales.
CONTACTS = [
    Contact("ext", "Partner Contact", "ext@partner.example", proxy=["SMTP:ext@partner.example"]),
]

GROUPS = [
    Group("sales", "sales@example.org", ["SMTP:sales@example.org"], ["ann", "bob", "ext"]),
    Group("all-staff", "all-staff@example.org", ["SMTP:all-staff@example.org"],
          ["sales", "carol"]),
    Group("cycle-a", "cycle-a@example.org", ["SMTP:cycle-a@example.org"], ["cycle-b", "ann"]),
    Group("cycle-b", "cycle-b@example.org", ["SMTP:cycle-b@example.org"], ["cycle-a", "dave"]),
    # A security group without mail: never a recipient.
    Group("staff-security", None, [], ["ann", "bob"]),
    Group("big", "big@example.org", ["SMTP:big@example.org"], [u.uid for u in BIG_USERS]),
]

# slapd only: ou=E2E, a small directory of its own for the Playwright test of the LDAP page.
E2E_DOMAIN = "ldap-e2e.example"
E2E_USERS = [
    User("e2e-amy", "Amy", "Example", "amy@ldap-e2e.example",
         proxy=["SMTP:amy@ldap-e2e.example", "smtp:amy.example@ldap-e2e.example"]),
    User("e2e-ben", "Ben", "Example", "ben@ldap-e2e.example",
         proxy=["SMTP:ben@ldap-e2e.example"]),
    User("e2e-cid", "Cid", "Example", "cid@ldap-e2e.example",
         proxy=["SMTP:cid@ldap-e2e.example"]),
]
E2E_GROUPS = [
    Group("e2e-team", "team@ldap-e2e.example", ["SMTP:team@ldap-e2e.example"],
          ["e2e-amy", "e2e-ben", "e2e-cid"]),
]
