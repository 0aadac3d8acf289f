//! The ownership check's DNS lookup against a real DNS server: the emulator's, over UDP/TCP.

#![allow(clippy::unwrap_used)]

use roster_core::ownership::dns::DnsSettings;
use roster_core::ownership::OwnershipError;
use roster_core::DomainName;
use roster_m365_emulator::{spawn, EmulatorConfig};

#[tokio::test]
async fn txt_records_prove_or_refuse_ownership() {
    let emu = spawn(EmulatorConfig::new("app", "secret").with_dns())
        .await
        .unwrap();
    let dns = DnsSettings {
        server: emu.dns_addr(),
    };
    let domain = DomainName::parse("owned.example").unwrap();
    // Never published: the name does not exist.
    assert_eq!(
        dns.verify(&domain, "tok3n").await,
        Err(OwnershipError::NoSuchDomain {
            domain: "owned.example".into()
        })
    );
    emu.state()
        .dns()
        .set_txt("owned.example", vec!["v=spf1 -all".into()]);
    assert_eq!(
        dns.verify(&domain, "tok3n").await,
        Err(OwnershipError::RecordMissing {
            domain: "owned.example".into()
        })
    );
    emu.state().dns().set_txt(
        "owned.example",
        vec!["v=spf1 -all".into(), "roster-verification=other".into()],
    );
    assert!(matches!(
        dns.verify(&domain, "tok3n").await,
        Err(OwnershipError::WrongToken { .. })
    ));
    emu.state().dns().set_txt(
        "owned.example",
        vec!["v=spf1 -all".into(), "roster-verification=tok3n".into()],
    );
    assert_eq!(dns.verify(&domain, "tok3n").await, Ok(()));
}

#[tokio::test]
async fn an_unreachable_resolver_is_its_own_error() {
    // A port nothing answers on (bound, then closed).
    let addr = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dns = DnsSettings { server: Some(addr) };
    let domain = DomainName::parse("owned.example").unwrap();
    assert!(matches!(
        dns.verify(&domain, "tok3n").await,
        Err(OwnershipError::ResolverUnavailable { .. })
    ));
}

#[test]
fn the_server_setting_parses() {
    assert_eq!(
        DnsSettings::parse_server("127.0.0.1:5353").unwrap().port(),
        5353
    );
    assert_eq!(DnsSettings::parse_server("10.0.0.1").unwrap().port(), 53);
    assert!(DnsSettings::parse_server("dns.example").is_err());
}
