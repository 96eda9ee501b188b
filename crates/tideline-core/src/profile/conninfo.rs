//! Reading what people paste: a `postgres://` / `postgresql://` URI or a libpq key=value
//! conninfo string. A password found in either is handed back separately, bound for the keychain.

use super::{ProfileDraft, SslMode};
use crate::error::{Error, ErrorCode, Result};
use crate::secret::Secret;
use percent_encoding::percent_decode_str;

#[derive(Debug)]
pub struct Parsed {
    pub draft: ProfileDraft,
    pub password: Option<Secret>,
    /// A `service=` name that still has to be resolved through pg_service.conf.
    pub service: Option<String>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(
        ErrorCode::InvalidUri,
        message,
        "Write postgresql://user@host:5432/dbname?sslmode=require, or host=... port=... dbname=... user=...",
    )
}

pub fn parse(input: &str) -> Result<Parsed> {
    let input = input.trim();
    if input.starts_with("postgres://") || input.starts_with("postgresql://") {
        parse_uri(input)
    } else if input.contains('=') {
        parse_keywords(input)
    } else {
        Err(invalid(format!("'{}' is neither a postgres:// URI nor a key=value conninfo", shorten(input))))
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

fn decode(s: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| invalid("the URI contains percent-encoding that is not UTF-8"))
}

/// libpq's default when no host is given: the local socket directory.
fn default_host() -> String {
    ["/var/run/postgresql", "/run/postgresql", "/tmp"]
        .iter()
        .find(|d| std::path::Path::new(d).join(".s.PGSQL.5432").exists())
        .map(|d| d.to_string())
        .unwrap_or_else(|| "localhost".into())
}

fn parse_uri(input: &str) -> Result<Parsed> {
    // The url crate treats postgresql as an opaque scheme; hosts like %2Fvar%2Frun come back encoded.
    let authority_end = input.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &input[authority_end..];
    let host_part = rest.split(['/', '?']).next().unwrap_or("");
    let host_part = host_part.rsplit('@').next().unwrap_or("");
    if host_part.contains(',') {
        return Err(invalid("URIs with several hosts are not supported"));
    }
    let url = url::Url::parse(input).map_err(|e| invalid(format!("the URI could not be read: {e}")))?;
    let mut draft = ProfileDraft::default();
    let mut password = None;
    let mut service = None;
    if !url.username().is_empty() {
        draft.user = decode(url.username())?;
    }
    if let Some(pw) = url.password() {
        password = Some(Secret::new(decode(pw)?));
    }
    draft.host = match url.host_str() {
        Some(h) if !h.is_empty() => decode(h.trim_start_matches('[').trim_end_matches(']'))?,
        _ => default_host(),
    };
    if let Some(port) = url.port() {
        draft.port = port;
    }
    let path = url.path().trim_start_matches('/');
    draft.database = if path.is_empty() { draft.user.clone() } else { decode(path)? };
    for (key, value) in url.query_pairs() {
        apply(&mut draft, &mut password, &mut service, &key, &value)?;
    }
    Ok(Parsed { draft, password, service })
}

fn parse_keywords(input: &str) -> Result<Parsed> {
    from_pairs(tokenize(input)?)
}

/// Builds a draft from libpq keywords (a conninfo string, or a pg_service.conf section).
pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Parsed> {
    let mut draft = ProfileDraft::default();
    let mut password = None;
    let mut service = None;
    let database_given = pairs.iter().any(|(k, _)| k == "dbname");
    let host_given = pairs.iter().any(|(k, _)| k == "host" || k == "hostaddr");
    for (key, value) in &pairs {
        apply(&mut draft, &mut password, &mut service, key, value)?;
    }
    if !database_given {
        draft.database = draft.user.clone();
    }
    if !host_given {
        draft.host = default_host();
    }
    Ok(Parsed { draft, password, service })
}

/// Splits `key=value key='quoted \' value'` the way libpq does.
pub fn tokenize(input: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(invalid(format!("missing '=' after '{key}'")));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(invalid(format!("unterminated quoted value for '{key}'"))),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    value.extend(chars.next());
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((key, value));
    }
}

fn apply(
    draft: &mut ProfileDraft,
    password: &mut Option<Secret>,
    service: &mut Option<String>,
    key: &str,
    value: &str,
) -> Result<()> {
    let non_empty = |v: &str| {
        if v.is_empty() {
            None
        } else {
            Some(v.to_string())
        }
    };
    match key {
        "host" => {
            if value.contains(',') {
                return Err(invalid("several hosts are not supported"));
            }
            draft.host = value.to_string()
        }
        "hostaddr" => draft.host = value.to_string(),
        "port" => {
            draft.port =
                value.parse().map_err(|_| invalid(format!("port '{value}' is not a number from 1 to 65535")))?
        }
        "dbname" => draft.database = value.to_string(),
        "user" => draft.user = value.to_string(),
        "password" => *password = Some(Secret::new(value)),
        "sslmode" => draft.sslmode = SslMode::parse(value)?,
        "sslrootcert" => draft.sslrootcert = non_empty(value),
        "sslcert" => draft.sslcert = non_empty(value),
        "sslkey" => draft.sslkey = non_empty(value),
        "application_name" => draft.application_name = non_empty(value),
        "connect_timeout" => {
            draft.connect_timeout_secs =
                value.parse().map_err(|_| invalid(format!("connect_timeout '{value}' is not a number of seconds")))?
        }
        "service" => *service = Some(value.to_string()),
        // Accepted by libpq and harmless to ignore for what Tideline does.
        "options"
        | "target_session_attrs"
        | "gssencmode"
        | "keepalives"
        | "keepalives_idle"
        | "fallback_application_name"
        | "client_encoding"
        | "sslcompression" => {}
        other => return Err(invalid(format!("unknown connection parameter '{other}'"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_uri_and_keeps_the_password_apart() {
        let p = parse("postgresql://alice:s%40cret@db.example.com:6543/shop?sslmode=verify-full&application_name=tl&connect_timeout=3")
            .unwrap();
        assert_eq!(p.draft.user, "alice");
        assert_eq!(p.password.unwrap().expose(), "s@cret");
        assert_eq!(p.draft.host, "db.example.com");
        assert_eq!(p.draft.port, 6543);
        assert_eq!(p.draft.database, "shop");
        assert_eq!(p.draft.sslmode, SslMode::VerifyFull);
        assert_eq!(p.draft.application_name.as_deref(), Some("tl"));
        assert_eq!(p.draft.connect_timeout_secs, 3);
    }

    #[test]
    fn reads_socket_hosts_in_uris() {
        let p = parse("postgres://bob@%2Fvar%2Frun%2Fpostgresql/app").unwrap();
        assert_eq!(p.draft.host, "/var/run/postgresql");
        let p = parse("postgresql:///app?host=/tmp&port=5433").unwrap();
        assert_eq!(p.draft.host, "/tmp");
        assert_eq!(p.draft.port, 5433);
        let p = parse("postgresql://u@[::1]:5432/d").unwrap();
        assert_eq!(p.draft.host, "::1");
    }

    #[test]
    fn reads_keyword_conninfo_with_quotes() {
        let p =
            parse("host=10.0.0.5 port=5544 dbname='my db' user=o\\'neil password='it\\'s' sslmode=require").unwrap();
        assert_eq!(p.draft.host, "10.0.0.5");
        assert_eq!(p.draft.database, "my db");
        assert_eq!(p.draft.user, "o'neil");
        assert_eq!(p.draft.sslmode, SslMode::Require);
        assert!(p.password.is_some());
        let p = parse("user=carol dbname=x service=prod").unwrap();
        assert_eq!(p.service.as_deref(), Some("prod"));
    }

    #[test]
    fn database_defaults_to_user() {
        assert_eq!(parse("postgresql://dave@h").unwrap().draft.database, "dave");
        assert_eq!(parse("host=h user=erin").unwrap().draft.database, "erin");
    }

    #[test]
    fn malformed_input_is_invalid_uri() {
        for bad in [
            "mysql://x",
            "postgresql://u@h:notaport/d",
            "host=h port=99999",
            "host=h sslmode=sometimes",
            "host='unterminated",
            "postgresql://h1,h2/d",
            "host=h bogus=1",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidUri, "{bad}");
            assert!(!e.hint.is_empty());
        }
    }
}
