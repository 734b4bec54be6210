//! Web sessions: a server-side table keyed by a random id, the id in an `HttpOnly`,
//! `SameSite=Lax` cookie (`Secure` when the gateway speaks TLS). A session holds who
//! signed in (name, desk) and its CSRF token, which every form carries and every
//! POST must match. Sign-ins under way are kept the same way, under their own
//! cookie, so the callback is bound to the browser that started it.
//!
//! The table is in memory: a restart signs everyone out, nothing more (reports are
//! in the store).

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};

use super::oidc::{Pending, random};
use crate::model::DeskId;

pub const SESSION_COOKIE: &str = "deskgate_session";
pub const LOGIN_COOKIE: &str = "deskgate_login";
/// How long a session lasts without being used.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// How long a sign-in may take at the provider.
const LOGIN_TIME: Duration = Duration::from_secs(600);

/// Who signed in.
#[derive(Clone, Debug)]
pub struct Session {
    pub desk: DeskId,
    pub name: String,
    pub subject: String,
    pub csrf: String,
}

pub struct Sessions {
    secure: bool,
    live: Mutex<HashMap<String, (Session, Instant)>>,
    logins: Mutex<HashMap<String, (Pending, Instant)>>,
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Equal in time independent of where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    pub fn new(secure: bool) -> Self {
        Self { secure, live: Mutex::default(), logins: Mutex::default() }
    }

    fn set_cookie(&self, name: &str, value: &str, max_age: Duration) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", max_age.as_secs());
        // Ids are base64url: always a valid header value.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("deskgate_session=; Max-Age=0"))
    }

    /// Keep `value` in `map` under `id`, first dropping what has outlived `ttl`; the
    /// cookie `name` that carries the id.
    fn keep<T>(
        &self,
        map: &Mutex<HashMap<String, (T, Instant)>>,
        name: &str,
        ttl: Duration,
        id: String,
        value: T,
    ) -> HeaderValue {
        let mut map = map.lock();
        map.retain(|_, (_, at)| at.elapsed() < ttl);
        map.insert(id.clone(), (value, Instant::now()));
        self.set_cookie(name, &id, ttl)
    }

    /// Keep a sign-in under way; the cookie that binds it to this browser.
    pub fn start_login(&self, pending: Pending) -> HeaderValue {
        self.keep(&self.logins, LOGIN_COOKIE, LOGIN_TIME, random(24), pending)
    }

    /// The sign-in this browser started, once.
    pub fn take_login(&self, headers: &HeaderMap) -> Option<Pending> {
        let id = cookie(headers, LOGIN_COOKIE)?;
        let (pending, at) = self.logins.lock().remove(id)?;
        (at.elapsed() < LOGIN_TIME).then_some(pending)
    }

    /// A new session (a new id, so none chosen before sign-in survives it).
    pub fn create(&self, desk: DeskId, name: String, subject: String) -> HeaderValue {
        let id = random(32);
        let session = Session { desk, name, subject, csrf: random(24) };
        self.keep(&self.live, SESSION_COOKIE, IDLE, id, session)
    }

    /// The request's session, if it has a live one.
    pub fn get(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let mut live = self.live.lock();
        let (session, at) = live.get_mut(id)?;
        if at.elapsed() >= IDLE {
            live.remove(id);
            return None;
        }
        *at = Instant::now();
        Some(session.clone())
    }

    /// End the request's session; the cookie that clears it.
    pub fn end(&self, headers: &HeaderMap) -> HeaderValue {
        if let Some(id) = cookie(headers, SESSION_COOKIE) {
            self.live.lock().remove(id);
        }
        self.set_cookie(SESSION_COOKIE, "", Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("x_deskgate_session=a; deskgate_session=b"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("b"));
    }

    #[test]
    fn the_session_cookie_is_http_only_lax_and_secure_under_tls() {
        let c = Sessions::new(true).create("portal".parse::<DeskId>().unwrap(), "A".into(), "a".into());
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"), "{c}");
        let plain = Sessions::new(false).create("portal".parse::<DeskId>().unwrap(), "A".into(), "a".into());
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }
}
