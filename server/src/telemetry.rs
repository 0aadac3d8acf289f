//! Logging, filtered by `RUST_LOG` (default: info for Roster): human-readable lines, or one
//! JSON object per line with `ROSTER_LOG_FORMAT=json` (for a log collector).

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per event, with its span's fields.
    Json,
}

impl LogFormat {
    /// `ROSTER_LOG_FORMAT`: `json`, or `text` (also when unset or blank).
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim).unwrap_or("") {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!(
                "ROSTER_LOG_FORMAT must be json or text, got {other:?}"
            )),
        }
    }
}

/// Installs the log subscriber; fails only on an unknown `ROSTER_LOG_FORMAT`.
pub fn init() -> anyhow::Result<()> {
    let format = LogFormat::parse(std::env::var("ROSTER_LOG_FORMAT").ok().as_deref())
        .map_err(anyhow::Error::msg)?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"))
        // ldap3 warns once per entry that arrives for a search Roster stopped reading (Test
        // Connection reads one page): noise, not a problem. Its errors still show.
        .add_directive("ldap3::conn=error".parse().expect("a valid log directive"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::LogFormat;

    #[test]
    fn log_format_is_text_unless_json_is_asked() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("text")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some(" json ")).unwrap(), LogFormat::Json);
        let error = LogFormat::parse(Some("JSONL")).unwrap_err();
        assert!(error.contains("ROSTER_LOG_FORMAT"), "{error}");
    }
}
