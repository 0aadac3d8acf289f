//! Sign-in, sign-out and "who am I".

use crate::error::AppError;
use crate::model::Me;
use leptos::prelude::*;

/// Sign-in attempts counted per email before it is locked, within `LOCKOUT_WINDOW_MINUTES`
/// of the first one; a successful sign-in starts the count again.
pub const MAX_FAILED_SIGN_INS: i64 = 10;
/// How long the count runs, and how long an email stays locked once it reached the limit.
pub const LOCKOUT_WINDOW_MINUTES: i64 = 15;

/// Signs an admin in. Throttled per email typed (known or not, so it reveals nothing): the
/// attempt is counted in one atomic statement before the password is checked, so parallel
/// guesses can't slip past the limit, and once it is reached no password is even hashed.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::auth::{start_session, verify_password};
    use crate::ssr::{respond::respond, OrInternal};
    use roster_core::{EmailAddress, NewPassword};

    respond(|req| async move {
        let pool = req.state.pool.clone();
        // No admin can have an address that does not parse (at most 254 characters) or a
        // password longer than any Roster accepts: refused before any SQL or hashing.
        let Ok(email) = EmailAddress::parse(&email) else {
            return Err(AppError::BadCredentials);
        };
        if !NewPassword::could_match(&password) {
            return Err(AppError::BadCredentials);
        }
        let email = email.as_str();

        // Count this attempt. A row past its `expires_at` starts over; the attempt that
        // reaches the limit locks the email for a whole window from now.
        let counted = sqlx::query!(
            r#"insert into login_attempts as a (email, attempts, expires_at)
               values ($1, 1, now() + make_interval(mins => $2))
               on conflict (email) do update set
                   attempts = case when a.expires_at <= now() then 1
                                   else least(a.attempts + 1, $3 + 1) end,
                   expires_at = case when a.expires_at <= now() or a.attempts + 1 = $3
                                     then now() + make_interval(mins => $2)
                                     else a.expires_at end
               returning attempts, expires_at"#,
            email,
            LOCKOUT_WINDOW_MINUTES as i32,
            MAX_FAILED_SIGN_INS as i32
        )
        .fetch_one(&pool)
        .await
        .or_internal("counting a sign-in attempt")?;
        // Counts nobody needs any more go while we are here.
        sqlx::query!("delete from login_attempts where expires_at <= now()")
            .execute(&pool)
            .await
            .or_internal("removing expired sign-in counts")?;
        let locked_out = || {
            let minutes = ((counted.expires_at - chrono::Utc::now()).num_seconds() + 59) / 60;
            AppError::LockedOut {
                minutes: minutes.max(1),
            }
        };
        if i64::from(counted.attempts) > MAX_FAILED_SIGN_INS {
            return Err(locked_out());
        }

        let admin = sqlx::query!(
            "select organization_id, id, password_hash from admins where email = $1",
            email
        )
        .fetch_optional(&pool)
        .await
        .or_internal("looking up an admin to sign in")?;
        let stored = admin.as_ref().map(|a| a.password_hash.clone());

        if verify_password(&req.state.limits, password, stored).await? {
            if let Some(admin) = admin {
                sqlx::query!("delete from login_attempts where email = $1", email)
                    .execute(&pool)
                    .await
                    .or_internal("clearing failed sign-ins")?;
                start_session(&req, admin.organization_id, admin.id).await?;
                tracing::info!(admin_id = %admin.id, organization_id = %admin.organization_id, "admin signed in");
                req.redirect("/domains");
                return Ok(());
            }
        }
        if i64::from(counted.attempts) == MAX_FAILED_SIGN_INS {
            tracing::warn!("an email was locked after repeated failed sign-ins");
            Err(locked_out())
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
