//! LDAP directories (Active Directory, Exchange, OpenLDAP, Lotus Domino): the settings an
//! admin enters, parsed ([`settings`]).

pub mod settings;

pub use settings::{
    LdapAttributes, LdapPassword, LdapPreset, LdapSecurity, LdapSettings, LdapSettingsError,
    LdapSettingsInput, PresetDefaults, TlsVerify, DEFAULT_EXCHANGE_FILTER,
};

#[cfg(feature = "connectors")]
mod connector;
#[cfg(feature = "connectors")]
pub use connector::LdapDirectory;
