//! Desk authentication: a Bearer JWT in, a [`DeskPrincipal`] or a refusal out.
//!
//! Each desk pins one algorithm and one key (DESIGN §1). A token is matched to a desk
//! by its `iss`, verified with that desk's key and algorithm only — a token signed
//! with any other algorithm, `alg: none` included, is refused — and must carry the
//! gateway's `aud`, a valid `exp`, and `nbf` if present, and may live no longer than
//! the desk's `auth.max_lifetime_secs` (default a day). A *valid* token whose `sub`
//! is not a registered desk, or whose `role` claim is not `desk`, belongs to a person
//! or system the gateway does not take incidents from: it is refused with 403 and a
//! referral to the caller's local service desk (process step 3). A token that
//! authenticated a desk once is not verified again ([`verified`]).

mod verified;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Contact, Desk, KeyMaterial};
use crate::model::{Actor, DeskId, Role};

/// The claims deskgate reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// `desk` for service desks; anything else is a person or system that must go
    /// through its local desk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The caller's organisation, used to name the local desk in a referral.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// An authenticated, registered desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeskPrincipal {
    pub desk: DeskId,
    pub role: Role,
}

impl DeskPrincipal {
    pub fn actor(&self) -> Actor {
        Actor { desk: self.desk.clone(), role: self.role }
    }
}

/// Where a refused caller should go instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Referral {
    pub desk: Option<String>,
    pub name: Option<String>,
    pub contact: Option<Contact>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("a Bearer token is required")]
    Missing,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// A valid token of someone who is not a registered desk.
    #[error("{}", .referral.message)]
    NotADesk { subject: String, issuer: String, referral: Box<Referral> },
}

struct Verifier {
    desk: DeskId,
    role: Role,
    subject: String,
    algorithm: Algorithm,
    key: DecodingKey,
    max_lifetime_secs: u64,
}

/// Verifies desk tokens against the configured desks.
pub struct Authenticator {
    by_issuer: HashMap<String, Vec<Verifier>>,
    audience: String,
    leeway: u64,
    referral_desks: Vec<(Option<String>, Desk)>,
    verified: verified::Verified,
}

/// The decoding key for a desk's key material (checked when the configuration loads).
pub fn decoding_key(algorithm: Algorithm, key: &KeyMaterial) -> Result<DecodingKey, jsonwebtoken::errors::Error> {
    key.decoding_key(algorithm)
}

impl Authenticator {
    pub fn new(config: &Config) -> Self {
        let mut by_issuer: HashMap<String, Vec<Verifier>> = HashMap::new();
        for desk in config.desks.values() {
            let Some(auth) = &desk.auth else { continue };
            // Keys were checked when the configuration was loaded.
            let Ok(key) = decoding_key(auth.algorithm, &auth.key) else { continue };
            by_issuer.entry(auth.issuer.clone()).or_default().push(Verifier {
                desk: desk.id.clone(),
                role: desk.role,
                subject: auth.subject.clone(),
                algorithm: auth.algorithm,
                key,
                max_lifetime_secs: auth.max_lifetime_secs,
            });
        }
        let referral_desks = config
            .desks
            .values()
            .filter(|d| d.role == Role::Local)
            .map(|d| (d.auth.as_ref().map(|a| a.issuer.clone()), d.clone()))
            .collect();
        Self {
            by_issuer,
            audience: config.gateway.audience.clone(),
            leeway: config.gateway.leeway_secs,
            referral_desks,
            verified: verified::Verified::default(),
        }
    }

    /// Authenticate an `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<DeskPrincipal, AuthError> {
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let now = unix_now();
        if let Some(known) = self.verified.check(token, self.leeway, now) {
            return known;
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(format!("unreadable header ({e}); alg \"none\" is never accepted")))?;
        let unverified = peek_claims(token)?;
        let candidates = self
            .by_issuer
            .get(&unverified.iss)
            .ok_or_else(|| AuthError::Invalid(format!("issuer {:?} is not trusted", unverified.iss)))?;
        // The desk whose subject the token names, else any desk of that issuer: its key
        // decides whether the token is genuine.
        let verifier = candidates.iter().find(|v| v.subject == unverified.sub).unwrap_or(&candidates[0]);
        if header.alg != verifier.algorithm {
            return Err(AuthError::Invalid(format!(
                "algorithm {:?} is not accepted for issuer {:?}",
                header.alg, unverified.iss
            )));
        }
        let mut validation = Validation::new(verifier.algorithm);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&[&unverified.iss]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let claims = jsonwebtoken::decode::<Claims>(token, &verifier.key, &validation)
            .map_err(|e| AuthError::Invalid(describe(&e)))?
            .claims;
        if let Some(v) = candidates.iter().find(|v| v.subject == claims.sub) {
            within_lifetime(&claims, v.max_lifetime_secs, self.leeway, now)?;
        }

        let desk = candidates.iter().find(|v| v.subject == claims.sub);
        let role_ok = claims.role.as_deref().is_none_or(|r| r == "desk");
        match desk {
            Some(v) if role_ok => {
                let principal = DeskPrincipal { desk: v.desk.clone(), role: v.role };
                let verdict = verified::Verdict::new(principal.clone(), &claims, v.max_lifetime_secs);
                self.verified.keep(token, verdict, self.leeway, now);
                Ok(principal)
            }
            _ => Err(AuthError::NotADesk {
                referral: Box::new(self.referral(&claims)),
                subject: claims.sub,
                issuer: claims.iss,
            }),
        }
    }

    /// The local desk a refused caller belongs to: by its `org` claim, else the local
    /// desk whose identity provider issued its token.
    fn referral(&self, claims: &Claims) -> Referral {
        let by_org = claims.org.as_deref().and_then(|org| {
            self.referral_desks.iter().find(|(_, d)| d.organisations.iter().any(|o| o.eq_ignore_ascii_case(org)))
        });
        let by_issuer = || self.referral_desks.iter().find(|(iss, _)| iss.as_deref() == Some(claims.iss.as_str()));
        match by_org.or_else(by_issuer) {
            Some((_, desk)) => {
                let how = desk
                    .contact
                    .as_ref()
                    .map(|c| {
                        let parts: Vec<&str> = [c.email.as_deref(), c.phone.as_deref()].into_iter().flatten().collect();
                        if parts.is_empty() { String::new() } else { format!(" ({})", parts.join(", ")) }
                    })
                    .unwrap_or_default();
                Referral {
                    desk: Some(desk.id.to_string()),
                    name: Some(desk.name.clone()),
                    contact: desk.contact.clone(),
                    message: format!(
                        "Only registered service desks can submit incidents here. Please report this to your local service desk: {}{how}.",
                        desk.name
                    ),
                }
            }
            None => Referral {
                desk: None,
                name: None,
                contact: None,
                message: "Only registered service desks can submit incidents here. Please report this to your local service desk (your region's, municipality's, GP practice's or pharmacy's).".into(),
            },
        }
    }
}

/// A token may not outlive its desk's `auth.max_lifetime_secs`: a stolen long-lived
/// token would otherwise stay usable for as long as its issuer wrote. Both the
/// declared lifetime (`exp` − `iat`) and what remains of it (`exp` − now) count, so a
/// future `iat` does not stretch it.
fn within_lifetime(claims: &Claims, max: u64, leeway: u64, now: u64) -> Result<(), AuthError> {
    if let Some(iat) = claims.iat {
        let lifetime = claims.exp.saturating_sub(iat);
        if lifetime > max {
            return Err(AuthError::Invalid(format!(
                "the token's lifetime (exp − iat) of {lifetime} s exceeds this desk's maximum of {max} s"
            )));
        }
    }
    let remaining = claims.exp.saturating_sub(now);
    if remaining > max.saturating_add(leeway) {
        return Err(AuthError::Invalid(format!(
            "the token expires in {remaining} s, beyond this desk's maximum token lifetime of {max} s"
        )));
    }
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn peek_claims(token: &str) -> Result<Claims, AuthError> {
    #[derive(Deserialize)]
    struct Peek {
        iss: Option<String>,
        sub: Option<String>,
    }
    let payload = token.split('.').nth(1).ok_or_else(|| AuthError::Invalid("not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| AuthError::Invalid("payload is not base64url".into()))?;
    let peek: Peek =
        serde_json::from_slice(&bytes).map_err(|_| AuthError::Invalid("payload is not JSON claims".into()))?;
    Ok(Claims {
        iss: peek.iss.ok_or_else(|| AuthError::Invalid("the token has no iss".into()))?,
        sub: peek.sub.ok_or_else(|| AuthError::Invalid("the token has no sub".into()))?,
        aud: String::new(),
        exp: 0,
        nbf: None,
        iat: None,
        role: None,
        org: None,
    })
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "the token has expired".into(),
        ImmatureSignature => "the token is not valid yet (nbf)".into(),
        InvalidAudience => "the token is for another audience (aud)".into(),
        InvalidIssuer => "the token's issuer does not match".into(),
        InvalidSignature => "the signature does not verify".into(),
        InvalidAlgorithm => "the token's algorithm is not the one pinned for this desk".into(),
        MissingRequiredClaim(c) => format!("the token has no {c}"),
        _ => "the token cannot be verified".into(),
    }
}

/// Mint a token for an HS* desk: for the demo, tests and manual calls.
pub fn mint(desk: &Desk, audience: &str, ttl: Duration, now_unix: u64) -> Result<String, String> {
    let auth = desk.auth.as_ref().ok_or_else(|| format!("desk {} has no [auth] section", desk.id))?;
    let KeyMaterial::Secret(secret) = &auth.key else {
        return Err(format!(
            "desk {} signs with {:?}: its tokens come from its own identity provider, the gateway holds only the public key",
            desk.id, auth.algorithm
        ));
    };
    if ttl.as_secs() > auth.max_lifetime_secs {
        return Err(format!(
            "a token of {} s would outlive desk {}'s maximum token lifetime (desks.{}.auth.max_lifetime_secs = {} s)",
            ttl.as_secs(),
            desk.id,
            desk.id,
            auth.max_lifetime_secs
        ));
    }
    let claims = Claims {
        iss: auth.issuer.clone(),
        sub: auth.subject.clone(),
        aud: audience.to_owned(),
        exp: now_unix + ttl.as_secs(),
        nbf: Some(now_unix.saturating_sub(1)),
        iat: Some(now_unix),
        role: Some("desk".into()),
        org: None,
    };
    sign(&claims, auth.algorithm, secret.expose().as_bytes())
}

/// Sign arbitrary claims with an HS* secret.
pub fn sign(claims: &Claims, algorithm: Algorithm, secret: &[u8]) -> Result<String, String> {
    jsonwebtoken::encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(secret)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: Option<u64>, exp: u64) -> Claims {
        Claims { iss: "i".into(), sub: "s".into(), aud: "a".into(), exp, nbf: None, iat, role: None, org: None }
    }

    #[test]
    fn a_token_may_not_outlive_the_desk_maximum() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert!(within_lifetime(&claims(Some(now), now + day), day, 60, now).is_ok());
        assert!(within_lifetime(&claims(None, now + day), day, 60, now).is_ok());
        let long = within_lifetime(&claims(Some(now), now + day + 1), day, 60, now).unwrap_err();
        assert!(long.to_string().contains("exp − iat"), "{long}");
        // Year 9999 without iat: measured from now.
        let far = within_lifetime(&claims(None, 253_402_300_799), day, 60, now).unwrap_err();
        assert!(far.to_string().contains("maximum token lifetime"), "{far}");
        // A future iat does not stretch the lifetime.
        let future_iat = now + 10 * day;
        assert!(within_lifetime(&claims(Some(future_iat), future_iat + day), day, 60, now).is_err());
    }

    fn desk() -> DeskPrincipal {
        DeskPrincipal { desk: "region-h".parse().unwrap(), role: Role::Local }
    }

    #[test]
    fn a_verified_token_is_known_until_it_expires_and_then_refused_as_expired() {
        let (now, leeway) = (1_800_000_000, 60);
        let known = verified::Verified::default();
        assert!(known.check("t", leeway, now).is_none(), "never verified");
        known.keep("t", verified::Verdict::new(desk(), &claims(Some(now), now + 3600), 86_400), leeway, now);
        assert_eq!(known.check("t", leeway, now + 3600 + leeway).unwrap().unwrap(), desk());
        assert!(known.check("other", leeway, now).is_none(), "only the exact token");
        let late = known.check("t", leeway, now + 3600 + leeway + 1).unwrap().unwrap_err();
        assert_eq!(late.to_string(), "the token is not valid: the token has expired");
        assert!(known.check("t", leeway, now).is_none(), "an expired token is forgotten");
    }

    #[test]
    fn a_known_token_still_keeps_to_nbf_and_the_desk_maximum_lifetime() {
        let (now, leeway) = (1_800_000_000, 60);
        let known = verified::Verified::default();
        let early = Claims { nbf: Some(now + 600), ..claims(None, now + 3600) };
        known.keep("early", verified::Verdict::new(desk(), &early, 86_400), leeway, now + 600);
        let refused = known.check("early", leeway, now).unwrap().unwrap_err();
        assert!(refused.to_string().contains("not valid yet"), "{refused}");
        // Checked against a shorter maximum than the token's remaining life.
        known.keep("long", verified::Verdict::new(desk(), &claims(None, now + 7200), 3600), leeway, now);
        let refused = known.check("long", leeway, now).unwrap().unwrap_err();
        assert!(refused.to_string().contains("maximum token lifetime"), "{refused}");
    }

    #[test]
    fn the_known_tokens_are_bounded() {
        let now = 1_800_000_000;
        let known = verified::Verified::default();
        for n in 0..=verified::CAPACITY {
            known.keep(&format!("t{n}"), verified::Verdict::new(desk(), &claims(None, now + 60), 86_400), 0, now);
        }
        assert!(known.len() <= verified::CAPACITY, "{}", known.len());
        assert!(known.check(&format!("t{}", verified::CAPACITY), 0, now).is_some(), "the newest is kept");
    }
}
