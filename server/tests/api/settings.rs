#![allow(clippy::unwrap_used)]

use crate::helpers::{fields, spawn_app, unique_domain};
use app::model::SyncSettings;
use sqlx::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn automatic_sync_settings_are_validated_and_saved(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let id = admin
        .create_domain(&unique_domain("set"), "office365")
        .await
        .to_string();

    let defaults: SyncSettings = admin.ok("get_sync_settings", &[("domain_id", &id)]).await;
    assert_eq!(defaults, SyncSettings::default());

    admin
        .ok::<()>(
            "save_auto_sync",
            &[
                ("domain_id", &id),
                ("auto_sync_enabled", "on"),
                ("times_per_day", "3"),
                ("notifications_enabled", "on"),
                (
                    "notification_recipients",
                    "Ops@Acme.example, it@acme.example\nops@acme.example",
                ),
                ("exclude_patterns", "test*@acme.example\n\n[!a]?x@*"),
            ],
        )
        .await;
    let saved: SyncSettings = admin.ok("get_sync_settings", &[("domain_id", &id)]).await;
    assert!(saved.auto_sync_enabled && saved.notifications_enabled);
    assert_eq!(saved.times_per_day, 3);
    assert_eq!(
        saved.notification_recipients,
        "ops@acme.example\nit@acme.example"
    );
    assert_eq!(saved.exclude_patterns, "test*@acme.example\n[!a]?x@*");

    // Each bad input is named at its field, and nothing changes.
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("times_per_day", "5")], "times_per_day"),
        (
            &[("notification_recipients", "good@acme.example\nbad@")],
            "notification_recipients",
        ),
        (
            &[("notifications_enabled", "on")],
            "notification_recipients",
        ),
        (&[("exclude_patterns", "ok*\n[abc")], "exclude_patterns"),
        (&[("times_per_day", "0")], "times_per_day"),
    ];
    for (changes, field) in cases {
        let mut form = vec![("domain_id", id.as_str())];
        form.extend_from_slice(changes);
        if !changes.iter().any(|(k, _)| *k == "times_per_day") {
            form.push(("times_per_day", "1"));
        }
        let errors = admin.invalid("save_auto_sync", &form).await;
        assert!(fields(&errors).contains(&field), "{changes:?}: {errors:?}");
    }
    let errors = admin
        .invalid(
            "save_auto_sync",
            &[
                ("domain_id", &id),
                ("times_per_day", "1"),
                ("exclude_patterns", "ok*\n[abc"),
            ],
        )
        .await;
    assert!(errors[0].message.starts_with("Line 2"), "{errors:?}");
    let many: Vec<String> = (0..21).map(|i| format!("r{i}@acme.example")).collect();
    let errors = admin
        .invalid(
            "save_auto_sync",
            &[
                ("domain_id", &id),
                ("times_per_day", "1"),
                ("notification_recipients", &many.join(",")),
            ],
        )
        .await;
    assert!(errors[0].message.contains("20"), "{errors:?}");
    let after: SyncSettings = admin.ok("get_sync_settings", &[("domain_id", &id)]).await;
    assert_eq!(after, saved);

    // Unticked checkboxes are simply absent.
    admin
        .ok::<()>(
            "save_auto_sync",
            &[("domain_id", &id), ("times_per_day", "1")],
        )
        .await;
    let off: SyncSettings = admin.ok("get_sync_settings", &[("domain_id", &id)]).await;
    assert!(!off.auto_sync_enabled && !off.notifications_enabled);
    assert_eq!(off.account_add_limit, None);
}

#[sqlx::test(migrations = "../migrations")]
async fn operation_limits_are_validated_and_saved(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.admin("Acme").await;
    let id = admin
        .create_domain(&unique_domain("lim"), "office365")
        .await
        .to_string();
    admin
        .ok::<()>(
            "save_operation_limits",
            &[
                ("domain_id", &id),
                ("account_add_limit", "100"),
                ("account_delete_limit", "0"),
                ("alias_add_limit", ""),
                ("alias_delete_limit", " 1000000 "),
                ("total_limit", ""),
            ],
        )
        .await;
    let saved: SyncSettings = admin.ok("get_sync_settings", &[("domain_id", &id)]).await;
    assert_eq!(
        (
            saved.account_add_limit,
            saved.account_delete_limit,
            saved.alias_add_limit,
            saved.alias_delete_limit,
            saved.total_limit
        ),
        (Some(100), Some(0), None, Some(1_000_000), None)
    );

    let errors = admin
        .invalid(
            "save_operation_limits",
            &[
                ("domain_id", &id),
                ("account_add_limit", "-1"),
                ("account_delete_limit", "1000001"),
                ("alias_add_limit", "1.5"),
                ("alias_delete_limit", "ten"),
                ("total_limit", "5"),
            ],
        )
        .await;
    assert_eq!(
        fields(&errors),
        vec![
            "account_add_limit",
            "account_delete_limit",
            "alias_add_limit",
            "alias_delete_limit"
        ]
    );
    let after: SyncSettings = admin.ok("get_sync_settings", &[("domain_id", &id)]).await;
    assert_eq!(after, saved, "a refused form changes nothing");
}
