//! Sign-in, sign-out and "who am I".

use crate::error::AppError;
use crate::model::Me;
use leptos::prelude::*;

/// Failures counted per email before it is locked, within `LOCKOUT_WINDOW_MINUTES`.
pub const MAX_FAILED_SIGN_INS: i64 = 10;
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;

#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::auth::{start_session, verify_password};
    use crate::ssr::{respond::respond, OrInternal};

    respond(|req| async move {
        let pool = req.state.pool.clone();
        let email = email.trim().to_lowercase();
        if email.is_empty() || password.is_empty() {
            return Err(AppError::BadCredentials);
        }

        let locked = sqlx::query_scalar!(
            "select locked_until from login_lockouts where email = $1 and locked_until > now()",
            email
        )
        .fetch_optional(&pool)
        .await
        .or_internal("checking sign-in lockout")?;
        if let Some(until) = locked {
            let minutes = ((until - chrono::Utc::now()).num_seconds() + 59) / 60;
            return Err(AppError::LockedOut {
                minutes: minutes.max(1),
            });
        }

        let admin = sqlx::query!(
            "select organization_id, id, password_hash from admins where email = $1",
            email
        )
        .fetch_optional(&pool)
        .await
        .or_internal("looking up an admin to sign in")?;
        let stored = admin.as_ref().map(|a| a.password_hash.clone());

        if verify_password(password, stored).await? {
            if let Some(admin) = admin {
                sqlx::query!("delete from login_failures where email = $1", email)
                    .execute(&pool)
                    .await
                    .or_internal("clearing failed sign-ins")?;
                start_session(&req, admin.organization_id, admin.id).await?;
                tracing::info!(admin_id = %admin.id, organization_id = %admin.organization_id, "admin signed in");
                req.redirect("/domains");
                return Ok(());
            }
        }

        // A failure: count it, and lock the email once there are too many in the window.
        let mut tx = pool.begin().await.or_internal("starting a transaction")?;
        sqlx::query!("insert into login_failures (email) values ($1)", email)
            .execute(&mut *tx)
            .await
            .or_internal("recording a failed sign-in")?;
        let recent = sqlx::query_scalar!(
            r#"select count(*) as "count!" from login_failures
               where email = $1 and failed_at > now() - make_interval(mins => $2)"#,
            email,
            LOCKOUT_WINDOW_MINUTES as i32
        )
        .fetch_one(&mut *tx)
        .await
        .or_internal("counting failed sign-ins")?;
        let locked = recent >= MAX_FAILED_SIGN_INS;
        if locked {
            sqlx::query!(
                r#"insert into login_lockouts (email, locked_until)
                   values ($1, now() + make_interval(mins => $2))
                   on conflict (email) do update set locked_until = excluded.locked_until"#,
                email,
                LOCKOUT_WINDOW_MINUTES as i32
            )
            .execute(&mut *tx)
            .await
            .or_internal("locking an email after failed sign-ins")?;
            sqlx::query!("delete from login_failures where email = $1", email)
                .execute(&mut *tx)
                .await
                .or_internal("clearing failed sign-ins")?;
        }
        tx.commit().await.or_internal("committing a failed sign-in")?;
        if locked {
            tracing::warn!("an email was locked after repeated failed sign-ins");
            Err(AppError::LockedOut {
                minutes: LOCKOUT_WINDOW_MINUTES,
            })
        } else {
            Err(AppError::BadCredentials)
        }
    })
    .await
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::ssr::{auth::end_session, respond::respond};
    respond(|req| async move {
        end_session(&req).await?;
        req.redirect("/login");
        Ok(())
    })
    .await
}

#[server(endpoint = "me")]
pub async fn current_admin() -> Result<Me, AppError> {
    use crate::ssr::{auth::require_admin, respond::respond};
    respond(|req| async move {
        let admin = require_admin(&req).await?;
        Ok(Me {
            email: admin.email,
            organization_name: admin.organization_name,
        })
    })
    .await
}
