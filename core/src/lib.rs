//! Roster's domain, free of any web framework: parsed value types ("parse,
//! don't validate") for customer domains, recipient addresses, exclude
//! patterns, sync limits and schedules, delivery settings and names; and the
//! directory connectors ([`directory`], [`microsoft`], [`google`], [`ldap`]) that read recipients. Every
//! error's `Display` is a sentence an admin can read next to a form field.

mod macros;

pub mod account;
pub mod clock;

#[cfg(feature = "connectors")]
pub mod directory;
pub mod domain_name;
pub mod email_address;
pub mod exclude_pattern;
#[cfg(feature = "connectors")]
pub mod google;
pub mod inbound;
pub mod ldap;
pub mod limits;
#[cfg(feature = "connectors")]
pub mod microsoft;
pub mod names;
pub mod ownership;
pub mod recipients;
pub mod report;
pub mod run;
pub mod schedule;
pub mod server_type;
pub mod sync;

pub use account::{AccountKind, AccountSource};
pub use clock::{Clock, FakeClock, SystemClock};
#[cfg(feature = "connectors")]
pub use directory::{
    ConnectionTest, Directory, DirectoryAccount, DirectoryError, DirectoryPage, DirectoryPager,
    DomainRules, VerifiedDomains,
};
pub use domain_name::{DomainName, DomainNameError, MAX_DOMAIN_NAME_LENGTH, MAX_LABEL_LENGTH};
pub use email_address::{
    EmailAddress, EmailAddressError, LocalPart, MAX_EMAIL_ADDRESS_LENGTH, MAX_LOCAL_PART_LENGTH,
};
pub use exclude_pattern::{
    ExcludeLinesError, ExcludePattern, ExcludePatternError, ExcludePatterns, MAX_EXCLUDE_PATTERNS,
    MAX_EXCLUDE_PATTERN_LENGTH,
};
pub use inbound::{
    DeliveryPort, DeliveryPortError, MailServerHost, MailServerHostError, Priority, PriorityError,
};
pub use limits::{LimitError, LimitKind, OperationLimit, OperationsLimits, MAX_OPERATION_LIMIT};
pub use names::{
    DisplayName, DisplayNameError, NewPassword, OrganizationName, OrganizationNameError,
    PasswordError, MAX_DISPLAY_NAME_LENGTH, MAX_ORGANIZATION_NAME_LENGTH, MAX_PASSWORD_BYTES,
    MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH,
};
pub use recipients::{NotificationRecipients, RecipientsError, MAX_NOTIFICATION_RECIPIENTS};
pub use run::{ChangeKind, ReadKind, RunPhase, RunState, RunTrigger, SyncSource, UnknownValue};
pub use schedule::{next_slot, slot_offset, ScheduleError, SyncSchedule};
pub use server_type::{ServerType, ServerTypeError};
