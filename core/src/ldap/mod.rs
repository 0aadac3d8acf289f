//! LDAP directories (Active Directory, Exchange, OpenLDAP, Lotus Domino): the settings an
//! admin enters, parsed ([`settings`]), and the connector that reads them ([`LdapDirectory`]).

pub mod settings;

pub use settings::{
    LdapAttributes, LdapPassword, LdapPreset, LdapSecurity, LdapSettings, LdapSettingsError,
    LdapSettingsInput, PresetDefaults, TlsVerify, DEFAULT_EXCHANGE_FILTER,
};

#[cfg(feature = "connectors")]
mod connect;
#[cfg(feature = "connectors")]
mod connector;
#[cfg(feature = "connectors")]
mod entry;
#[cfg(feature = "connectors")]
mod errors;
#[cfg(feature = "connectors")]
mod filter;
#[cfg(feature = "connectors")]
mod round;
#[cfg(feature = "connectors")]
mod sample;
#[cfg(feature = "connectors")]
mod tls;
#[cfg(feature = "connectors")]
pub use connector::LdapDirectory;
