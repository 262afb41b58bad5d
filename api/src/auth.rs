//! Bearer tokens: HS256 JWTs signed with `ATLAS_JWT_SECRET`. `sub` is the user id (as Supabase's
//! `auth.users.id`); the tenant comes from the `X-Tenant-Id` header or a `tenant_id` claim.
use chrono::Utc;
use jsonwebtoken::{decode, encode, errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use service::{Principal, ServiceError};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    pub fn new(secret: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
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
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// The principal of a request from its `Authorization` and `X-Tenant-Id` values.
    /// No token: anonymous. A token that is malformed, badly signed or expired: UNAUTHENTICATED.
    pub fn principal(
        &self,
        authorization: Option<&str>,
        tenant_header: Option<&str>,
    ) -> Result<Principal, ServiceError> {
        let unauth = |m: &str| ServiceError::Unauthenticated(m.to_string());
        let Some(auth) = authorization.map(str::trim).filter(|a| !a.is_empty()) else {
            return Ok(Principal::default());
        };
        let token = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
            .ok_or_else(|| unauth("the Authorization header must be 'Bearer <token>'"))?;
        let validation = Validation::new(Algorithm::HS256);
        let claims = decode::<Claims>(token.trim(), &self.decoding, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => unauth("the token has expired; sign in again"),
                ErrorKind::InvalidSignature => unauth("the token's signature is not valid"),
                _ => unauth("the token is not a valid JWT"),
            })?
            .claims;
        let user =
            Uuid::try_parse(&claims.sub).map_err(|_| unauth("the token's sub claim must be a user id (UUID)"))?;
        let tenant = match tenant_header.map(str::trim).filter(|t| !t.is_empty()).or(claims.tenant_id.as_deref()) {
            Some(t) => Some(
                Uuid::try_parse(t)
                    .map_err(|_| ServiceError::bad_input("X-Tenant-Id", format!("{t:?} is not a tenant id (UUID)")))?,
            ),
            None => None,
        };
        Ok(Principal { user_id: Some(user), tenant_id: tenant, email: claims.email, system: false })
    }
}
