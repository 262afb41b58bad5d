//! Bearer tokens. Atlas's own are HS256 JWTs signed with `ATLAS_JWT_SECRET` (`atlas token`);
//! an identity provider's (Supabase Auth's signing keys, Auth0, Keycloak…) are RS256/ES256 JWTs
//! whose keys come from `ATLAS_JWKS_URL`. `sub` is the user id (as Supabase's `auth.users.id`);
//! the tenant comes from the `X-Tenant-Id` header or a `tenant_id` claim.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    decode, decode_header, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};
use service::{Principal, ServiceError};
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Set on Atlas's own tokens when `ATLAS_JWT_AUDIENCE` / `ATLAS_JWT_ISSUER` are, so they pass
    /// the same checks as an identity provider's. (Read back, `aud` may be a list: not kept.)
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub iss: Option<String>,
}

/// What the server checks of every token besides its signature and `exp`/`nbf`.
#[derive(Clone, Debug, Default)]
pub struct TokenRules {
    /// `ATLAS_JWT_AUDIENCE`: when set, a token's `aud` must name one of these (Supabase Auth's
    /// tokens say `authenticated`); unset, `aud` is not checked.
    pub audience: Vec<String>,
    /// `ATLAS_JWT_ISSUER`: when set, `iss` must be one of these.
    pub issuer: Vec<String>,
    /// `ATLAS_JWKS_URL`: where an identity provider publishes its public keys.
    pub jwks_url: Option<String>,
}

/// A verified token: who, and until when (a WebSocket closes then).
#[derive(Clone, Debug, Default)]
pub struct Verified {
    pub principal: Principal,
    /// Unix seconds; None for an anonymous request.
    pub expires_at: Option<i64>,
    /// A tenant named by its slug, still to be looked up as the user (`server::resolve_tenant`).
    pub tenant_slug: Option<String>,
}

#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    rules: Arc<TokenRules>,
    jwks: Option<Arc<Jwks>>,
}

/// Asymmetric algorithms accepted from the JWKS. HS* is only ever checked against the secret, so a
/// public key can never be used as an HMAC secret (algorithm confusion).
const JWKS_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Keys refetched at most this often for an unknown `kid`, so forged kids cannot flood the provider.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// Keys are refetched when older than this, so a provider's rotation is seen without a restart.
const JWKS_MAX_AGE: Duration = Duration::from_secs(600);

/// A key of the set, with the algorithm it names (many providers' keys name none; then the
/// token's algorithm must be of the key's family, which `decode` checks).
type JwksKey = (Option<Algorithm>, DecodingKey);

/// The identity provider's keys by `kid`, fetched on first use, refreshed on an unknown `kid` and
/// when old. A failed refresh keeps the keys already known.
struct Jwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<(HashMap<String, JwksKey>, Option<Instant>)>,
    /// Held while fetching, so concurrent requests with a new `kid` cause one fetch.
    fetching: Mutex<()>,
}

impl Jwks {
    async fn key(&self, kid: &str) -> Result<JwksKey, ServiceError> {
        if let Some(found) = self.known(kid, JWKS_MAX_AGE).await {
            return Ok(found);
        }
        let _one = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(found) = self.known(kid, JWKS_MIN_REFRESH).await {
            return Ok(found);
        }
        let fresh = { self.keys.read().await.1.is_some_and(|at| at.elapsed() < JWKS_MIN_REFRESH) };
        if !fresh {
            match self.fetch().await {
                Ok(keys) => *self.keys.write().await = (keys, Some(Instant::now())),
                Err(e) => {
                    tracing::warn!(url = %self.url, error = %e, "could not fetch the JWKS; keeping the keys known");
                    // Wait the minimum before asking again, and keep what was known.
                    self.keys.write().await.1 = Some(Instant::now());
                }
            }
        }
        self.keys.read().await.0.get(kid).cloned().ok_or_else(|| {
            ServiceError::Unauthenticated(format!("the token's signing key {kid:?} is not one the server trusts"))
        })
    }

    /// A known key, when the set was fetched within `age`.
    async fn known(&self, kid: &str, age: Duration) -> Option<JwksKey> {
        let keys = self.keys.read().await;
        keys.1.filter(|at| at.elapsed() < age)?;
        keys.0.get(kid).cloned()
    }

    async fn fetch(&self) -> Result<HashMap<String, JwksKey>, String> {
        let res = self.client.get(&self.url).send().await.map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("answered {}", res.status()));
        }
        let set: JwkSet = res.json().await.map_err(|e| format!("not a JWK set: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = &jwk.common.key_id else {
                continue; // a token chooses its key by id
            };
            let alg = match jwk.common.key_algorithm.map(Algorithm::try_from) {
                None => None,
                Some(Ok(alg)) if JWKS_ALGORITHMS.contains(&alg) => Some(alg),
                Some(_) => continue, // an HMAC or encryption key has no place here
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => {
                    keys.insert(kid.clone(), (alg, key));
                }
                Err(e) => tracing::warn!(%kid, error = %e, "skipping a JWK that cannot be used"),
            }
        }
        Ok(keys)
    }
}

impl Keys {
    pub fn new(secret: &str) -> Self {
        Self::with_rules(secret, TokenRules::default())
    }

    pub fn with_rules(secret: &str, rules: TokenRules) -> Self {
        let jwks = rules.jwks_url.clone().map(|url| {
            Arc::new(Jwks {
                url,
                client: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default(),
                keys: RwLock::new((HashMap::new(), None)),
                fetching: Mutex::new(()),
            })
        });
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            rules: Arc::new(rules),
            jwks,
        }
    }

    pub fn mint(
        &self,
        user: Uuid,
        tenant: Option<Uuid>,
        email: Option<String>,
        ttl_secs: i64,
    ) -> Result<String, String> {
        let claims = Claims {
            sub: user.to_string(),
            exp: Utc::now().timestamp() + ttl_secs,
            tenant_id: tenant.map(|t| t.to_string()),
            email,
            aud: self.rules.audience.first().cloned(),
            iss: self.rules.issuer.first().cloned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// What `decode` checks: `exp` always, `nbf` when present, and `aud` / `iss` required and
    /// checked when configured (a token without them is then refused, not waved through).
    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.validate_nbf = true;
        let mut required = vec!["exp"];
        if self.rules.audience.is_empty() {
            v.validate_aud = false;
        } else {
            v.set_audience(&self.rules.audience);
            required.push("aud");
        }
        if !self.rules.issuer.is_empty() {
            v.set_issuer(&self.rules.issuer);
            required.push("iss");
        }
        v.set_required_spec_claims(&required);
        v
    }

    /// The principal of a request from its `Authorization` and `X-Tenant-Id` values.
    /// No token: anonymous. A token that is malformed, badly signed, expired, not yet valid, or
    /// for another audience or issuer: UNAUTHENTICATED.
    pub async fn principal(
        &self,
        authorization: Option<&str>,
        tenant_header: Option<&str>,
    ) -> Result<Verified, ServiceError> {
        let unauth = |m: &str| ServiceError::Unauthenticated(m.to_string());
        let Some(auth) = authorization.map(str::trim).filter(|a| !a.is_empty()) else {
            return Ok(Verified::default());
        };
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .ok_or_else(|| unauth("the Authorization header must be 'Bearer <token>'"))?
            .trim();
        let header = decode_header(token).map_err(|_| unauth("the token is not a valid JWT"))?;
        let (alg, key) = match header.alg {
            Algorithm::HS256 => (Algorithm::HS256, self.decoding.clone()),
            alg if JWKS_ALGORITHMS.contains(&alg) => {
                let jwks = self.jwks.as_ref().ok_or_else(|| {
                    unauth("the token is signed with a public key, and this server has no ATLAS_JWKS_URL")
                })?;
                let kid = header.kid.as_deref().ok_or_else(|| unauth("the token names no signing key (kid)"))?;
                let (key_alg, key) = jwks.key(kid).await?;
                if key_alg.is_some_and(|k| k != alg) {
                    return Err(unauth("the token's algorithm is not its signing key's"));
                }
                (alg, key)
            }
            _ => return Err(unauth("the token's algorithm is not accepted (HS256, or RS/PS/ES/EdDSA from the JWKS)")),
        };
        let claims = decode::<Claims>(token, &key, &self.validation(alg))
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => unauth("the token has expired; sign in again"),
                ErrorKind::ImmatureSignature => unauth("the token is not valid yet (nbf)"),
                ErrorKind::InvalidSignature => unauth("the token's signature is not valid"),
                ErrorKind::InvalidAudience => unauth("the token is for another audience (aud)"),
                ErrorKind::InvalidIssuer => unauth("the token is from another issuer (iss)"),
                ErrorKind::MissingRequiredClaim(claim) => unauth(&format!("the token lacks the {claim} claim")),
                _ => unauth("the token is not a valid JWT"),
            })?
            .claims;
        let user =
            Uuid::try_parse(&claims.sub).map_err(|_| unauth("the token's sub claim must be a user id (UUID)"))?;
        let mut tenant_slug = None;
        let tenant = match tenant_header.map(str::trim).filter(|t| !t.is_empty()).or(claims.tenant_id.as_deref()) {
            Some(t) => match Uuid::try_parse(t) {
                Ok(id) => Some(id),
                Err(_) if is_slug(t) => {
                    tenant_slug = Some(t.to_string());
                    None
                }
                Err(_) => {
                    let msg = format!("{t:?} is neither a tenant id (UUID) nor a tenant's slug");
                    return Err(ServiceError::bad_input("X-Tenant-Id", msg));
                }
            },
            None => None,
        };
        Ok(Verified {
            principal: Principal { user_id: Some(user), tenant_id: tenant, email: claims.email, system: false },
            expires_at: Some(claims.exp),
            tenant_slug,
        })
    }
}

/// A tenant slug's shape (`tenants_slug_format`): 2-63 of a-z, 0-9 and '-', starting with a
/// letter or digit.
fn is_slug(t: &str) -> bool {
    (2..=63).contains(&t.len())
        && t.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
