//! The LDAP connector: reads an LDAP directory (Active Directory, OpenLDAP, Lotus Domino) with
//! the `ldap3` crate over rustls.
//!
//! SKELETON: the bodies are being written (issue 11); the signatures are the contract the
//! server's connector registry builds on.

use async_trait::async_trait;

use super::{LdapPassword, LdapSettings};
use crate::directory::{
    ChangePager, ConnectionTest, Directory, DirectoryError, DomainRules, ResumeState,
};

/// One customer's LDAP directory, as its settings describe it. Every run connects anew: the
/// first server of the list that answers serves it.
pub struct LdapDirectory {
    settings: LdapSettings,
    password: LdapPassword,
}

impl LdapDirectory {
    pub fn new(settings: LdapSettings, password: LdapPassword) -> LdapDirectory {
        LdapDirectory { settings, password }
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn test_connection(
        &self,
        _rules: &DomainRules,
    ) -> Result<ConnectionTest, DirectoryError> {
        let _ = (&self.settings, &self.password);
        unimplemented!("LDAP Test Connection")
    }

    /// The servers and base DNs read: another list is another directory.
    fn identity(&self) -> String {
        let mut servers = self.settings.servers.clone();
        servers.sort();
        format!(
            "ldap:{}|{}",
            servers.join(","),
            self.settings.base_dns.join(";").to_lowercase()
        )
    }

    fn changes(&self, _resume: Option<&ResumeState>) -> Box<dyn ChangePager> {
        unimplemented!("LDAP change rounds")
    }
}
