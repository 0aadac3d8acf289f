//! The LDAP connector: reads an LDAP directory (Active Directory, OpenLDAP, Lotus Domino) with
//! the `ldap3` crate over rustls. Connecting: [`super::connect`]; a round: [`super::round`];
//! Test Connection: [`super::sample`]; entries: [`super::entry`]; errors: [`super::errors`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::connect::{Inner, Tuning};
use super::round::LdapChanges;
use super::{LdapPassword, LdapSettings};
use crate::directory::{
    ChangePager, ConnectionTest, Directory, DirectoryError, DomainRules, ResumeState,
};

/// One customer's LDAP directory, as its settings describe it. Every run connects anew: the
/// first server of the list that answers serves it.
pub struct LdapDirectory {
    inner: Inner,
}

impl std::fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("servers", &self.inner.settings.servers)
            .field("bind_user", &self.inner.settings.bind_user)
            .finish_non_exhaustive()
    }
}

impl LdapDirectory {
    pub fn new(settings: LdapSettings, password: LdapPassword) -> LdapDirectory {
        LdapDirectory {
            inner: Inner {
                settings,
                password,
                tuning: Tuning::default(),
            },
        }
    }

    fn tune(mut self, change: impl FnOnce(&mut Tuning)) -> LdapDirectory {
        change(&mut self.inner.tuning);
        self
    }

    /// Entries per page of the paged search (default 500; AD serves at most 1000).
    pub fn with_page_size(self, page_size: u16) -> LdapDirectory {
        self.tune(|t| t.page_size = i32::from(page_size.max(1)))
    }

    /// Values of `member` asked per range request (default 1500, AD's MaxValRange).
    pub fn with_member_range(self, values: u32) -> LdapDirectory {
        self.tune(|t| t.member_range = values.max(1))
    }

    /// Time allowed to resolve, connect and finish the TLS handshake (default 10 s).
    pub fn with_connect_timeout(self, timeout: Duration) -> LdapDirectory {
        self.tune(|t| t.connect_timeout = timeout)
    }

    /// Time allowed for the bind and for each answer of a search (default 60 s).
    pub fn with_operation_timeout(self, timeout: Duration) -> LdapDirectory {
        self.tune(|t| t.operation_timeout = timeout)
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn test_connection(&self, rules: &DomainRules) -> Result<ConnectionTest, DirectoryError> {
        super::sample::test_connection(&self.inner, rules).await
    }

    /// The servers and base DNs read: another list is another directory.
    fn identity(&self) -> String {
        let mut servers = self.inner.settings.servers.clone();
        servers.sort();
        format!(
            "ldap:{}|{}",
            servers.join(","),
            self.inner.settings.base_dns.join(";").to_lowercase()
        )
    }

    fn changes(&self, _resume: Option<&ResumeState>) -> Box<dyn ChangePager> {
        Box::new(LdapChanges::new(Arc::new(self.inner.clone())))
    }
}
