//! Edits of a loaded tenant: add, change and delete objects and memberships.
//!
//! Each edit checks what Entra ID checks and appends to the tenant's change log, which is what
//! a later delta round reports. Deleting an object also takes it out of every group, as the
//! real directory does, and those membership removals are logged too.

use crate::changes::{Change, RemovalReason};
use crate::model::{mail_addresses, Contact, Group, ObjectKind, User};
use crate::tenant::{DirectoryError, Tenant};

impl Tenant {
    pub fn add_user(&mut self, user: User) -> Result<(), DirectoryError> {
        self.check_new_id(&user.id)?;
        self.check_upn(&user.user_principal_name)?;
        self.check_upn_free(&user.id, &user.user_principal_name)?;
        let addrs = mail_addresses(user.mail.as_deref(), &user.proxy_addresses);
        self.claim_addresses(&user.id, &addrs)?;
        self.log_upsert(ObjectKind::User, &user.id);
        self.users.insert(user.id.clone(), user);
        Ok(())
    }

    /// Replaces a user with a new version of it (same id).
    pub fn update_user(&mut self, user: User) -> Result<(), DirectoryError> {
        let old = self
            .users
            .get(&user.id)
            .cloned()
            .ok_or_else(|| not_found(&user.id))?;
        self.check_upn(&user.user_principal_name)?;
        self.check_upn_free(&user.id, &user.user_principal_name)?;
        self.swap_addresses(
            &user.id,
            mail_addresses(old.mail.as_deref(), &old.proxy_addresses),
            mail_addresses(user.mail.as_deref(), &user.proxy_addresses),
        )?;
        self.log_upsert(ObjectKind::User, &user.id);
        self.users.insert(user.id.clone(), user);
        Ok(())
    }

    pub fn delete_user(&mut self, id: &str, reason: RemovalReason) -> Result<User, DirectoryError> {
        let user = self.users.remove(id).ok_or_else(|| not_found(id))?;
        self.release_addresses(
            id,
            &mail_addresses(user.mail.as_deref(), &user.proxy_addresses),
        );
        self.drop_from_groups(id, ObjectKind::User);
        self.changes.record(Change::Removed {
            kind: ObjectKind::User,
            id: id.to_string(),
            reason,
        });
        Ok(user)
    }

    pub fn add_group(&mut self, group: Group) -> Result<(), DirectoryError> {
        self.check_new_id(&group.id)?;
        self.check_members(&group)?;
        let addrs = mail_addresses(group.mail.as_deref(), &group.proxy_addresses);
        self.claim_addresses(&group.id, &addrs)?;
        self.log_upsert(ObjectKind::Group, &group.id);
        for member in &group.members {
            self.log_membership(&group.id, member, true);
        }
        self.groups.insert(group.id.clone(), group);
        Ok(())
    }

    /// Replaces a group (same id); member differences are logged as membership changes.
    pub fn update_group(&mut self, group: Group) -> Result<(), DirectoryError> {
        let old = self
            .groups
            .get(&group.id)
            .cloned()
            .ok_or_else(|| not_found(&group.id))?;
        self.check_members(&group)?;
        self.swap_addresses(
            &group.id,
            mail_addresses(old.mail.as_deref(), &old.proxy_addresses),
            mail_addresses(group.mail.as_deref(), &group.proxy_addresses),
        )?;
        self.log_upsert(ObjectKind::Group, &group.id);
        for gone in old.members.difference(&group.members) {
            self.log_membership(&group.id, gone, false);
        }
        for new in group.members.difference(&old.members) {
            self.log_membership(&group.id, new, true);
        }
        self.groups.insert(group.id.clone(), group);
        Ok(())
    }

    pub fn delete_group(
        &mut self,
        id: &str,
        reason: RemovalReason,
    ) -> Result<Group, DirectoryError> {
        let group = self.groups.remove(id).ok_or_else(|| not_found(id))?;
        self.release_addresses(
            id,
            &mail_addresses(group.mail.as_deref(), &group.proxy_addresses),
        );
        self.drop_from_groups(id, ObjectKind::Group);
        self.changes.record(Change::Removed {
            kind: ObjectKind::Group,
            id: id.to_string(),
            reason,
        });
        Ok(group)
    }

    pub fn add_contact(&mut self, contact: Contact) -> Result<(), DirectoryError> {
        self.check_new_id(&contact.id)?;
        let addrs = mail_addresses(contact.mail.as_deref(), &contact.proxy_addresses);
        self.claim_addresses(&contact.id, &addrs)?;
        self.log_upsert(ObjectKind::Contact, &contact.id);
        self.contacts.insert(contact.id.clone(), contact);
        Ok(())
    }

    pub fn update_contact(&mut self, contact: Contact) -> Result<(), DirectoryError> {
        let old = self
            .contacts
            .get(&contact.id)
            .cloned()
            .ok_or_else(|| not_found(&contact.id))?;
        self.swap_addresses(
            &contact.id,
            mail_addresses(old.mail.as_deref(), &old.proxy_addresses),
            mail_addresses(contact.mail.as_deref(), &contact.proxy_addresses),
        )?;
        self.log_upsert(ObjectKind::Contact, &contact.id);
        self.contacts.insert(contact.id.clone(), contact);
        Ok(())
    }

    pub fn delete_contact(
        &mut self,
        id: &str,
        reason: RemovalReason,
    ) -> Result<Contact, DirectoryError> {
        let contact = self.contacts.remove(id).ok_or_else(|| not_found(id))?;
        self.release_addresses(
            id,
            &mail_addresses(contact.mail.as_deref(), &contact.proxy_addresses),
        );
        self.drop_from_groups(id, ObjectKind::Contact);
        self.changes.record(Change::Removed {
            kind: ObjectKind::Contact,
            id: id.to_string(),
            reason,
        });
        Ok(contact)
    }

    /// Adds a member; `Ok(false)` when it was already there.
    pub fn add_member(&mut self, group_id: &str, member_id: &str) -> Result<bool, DirectoryError> {
        if self.kind_of(member_id).is_none() {
            return Err(not_found(member_id));
        }
        if group_id == member_id {
            return Err(DirectoryError::Invalid(
                "a group cannot be a member of itself".into(),
            ));
        }
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or_else(|| not_found(group_id))?;
        let added = group.members.insert(member_id.to_string());
        if added {
            self.log_membership(group_id, member_id, true);
        }
        Ok(added)
    }

    /// Removes a member; `Ok(false)` when it was not there.
    pub fn remove_member(
        &mut self,
        group_id: &str,
        member_id: &str,
    ) -> Result<bool, DirectoryError> {
        let group = self
            .groups
            .get_mut(group_id)
            .ok_or_else(|| not_found(group_id))?;
        let removed = group.members.remove(member_id);
        if removed {
            self.log_membership(group_id, member_id, false);
        }
        Ok(removed)
    }

    fn check_upn_free(&self, id: &str, upn: &str) -> Result<(), DirectoryError> {
        match self
            .users
            .values()
            .find(|u| u.id != id && u.user_principal_name.eq_ignore_ascii_case(upn))
        {
            Some(other) => Err(DirectoryError::Conflict(format!(
                "userPrincipalName '{upn}' already belongs to user {}",
                other.id
            ))),
            None => Ok(()),
        }
    }

    fn swap_addresses(
        &mut self,
        owner: &str,
        old: std::collections::BTreeSet<String>,
        new: std::collections::BTreeSet<String>,
    ) -> Result<(), DirectoryError> {
        self.check_addresses(owner, &new)?;
        self.release_addresses(owner, &old);
        self.claim_addresses(owner, &new)
    }

    fn drop_from_groups(&mut self, id: &str, kind: ObjectKind) {
        let holders: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.members.contains(id))
            .map(|g| g.id.clone())
            .collect();
        for gid in holders {
            if let Some(g) = self.groups.get_mut(&gid) {
                g.members.remove(id);
            }
            self.changes.record(Change::Membership {
                group: gid,
                member: id.to_string(),
                member_kind: kind,
                added: false,
            });
        }
    }

    fn log_upsert(&mut self, kind: ObjectKind, id: &str) {
        self.changes.record(Change::Upserted {
            kind,
            id: id.to_string(),
        });
    }

    fn log_membership(&mut self, group: &str, member: &str, added: bool) {
        let member_kind = self.kind_of(member).unwrap_or(ObjectKind::User);
        self.changes.record(Change::Membership {
            group: group.to_string(),
            member: member.to_string(),
            member_kind,
            added,
        });
    }
}

fn not_found(id: &str) -> DirectoryError {
    DirectoryError::NotFound(format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."))
}
