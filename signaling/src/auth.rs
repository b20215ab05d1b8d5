//! Access tokens: JWT (HS256) with grants, minted by `signaling token` and checked on
//! `hello`. Authorization to *join* is the server's; authorization to *see* stays with the
//! camera, which only seals media keys for its members (E2EE).

use crate::secret::TokenSecret;
use crate::SignalingError;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use protocol::{is_valid_camera_id, AccessToken, ErrorCode, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The JWT claims. Field names follow RFC 7519 where one exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was issued to (a device or person name; informational).
    pub sub: String,
    /// camera or viewer.
    pub role: Role,
    /// Granted camera ids: exactly one for a camera, at least one for a viewer.
    pub cameras: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

/// What an accepted token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The token's subject.
    pub subject: String,
    /// The role.
    pub role: Role,
    /// Granted camera ids (validated).
    pub cameras: Vec<String>,
}

impl Grant {
    /// True when this grant covers `camera_id`.
    #[must_use]
    pub fn allows(&self, camera_id: &str) -> bool {
        self.cameras.iter().any(|c| c == camera_id)
    }
}

/// Why a token was refused; [`AuthFailure::code`] gives the wire error code and
/// [`AuthFailure::reason`] the metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Signature valid, `exp` passed.
    Expired,
    /// Bad signature, wrong algorithm, not a JWT, or missing claims.
    Invalid,
    /// Genuine, but the grants are unusable (bad camera id, camera with ≠1 camera, ...).
    BadGrant,
}

impl AuthFailure {
    /// The error code sent to the client.
    #[must_use]
    pub const fn code(self) -> ErrorCode {
        match self {
            Self::Expired => ErrorCode::TokenExpired,
            Self::Invalid | Self::BadGrant => ErrorCode::Unauthorized,
        }
    }

    /// A short label for the auth-failures metric.
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Invalid => "invalid",
            Self::BadGrant => "bad_grant",
        }
    }
}

/// Mints and verifies tokens with one secret.
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenAuthority(<keys redacted>)")
    }
}

/// Clock skew tolerated on `exp`, small because tokens are minted by the same operator.
const LEEWAY_SECS: u64 = 5;

impl TokenAuthority {
    /// Builds the authority from the configured secret.
    ///
    /// # Errors
    /// [`SignalingError::Jwt`] if the JWT library refuses the key.
    pub fn new(secret: &TokenSecret) -> Result<Self, SignalingError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.expose())?,
            decoding: DecodingKey::from_secret(secret.expose())?,
            validation,
        })
    }

    /// Mints a token valid for `ttl` from now.
    ///
    /// # Errors
    /// [`SignalingError::Mint`] when the grant is unusable (see [`check_grant`]).
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        cameras: &[String],
        ttl: Duration,
    ) -> Result<String, SignalingError> {
        let exp = unix_now().saturating_add(ttl.as_secs());
        self.mint_with_expiry(subject, role, cameras, exp)
    }

    /// Mints a token with an explicit `exp` (seconds since the epoch); tests use it to
    /// make already-expired tokens.
    ///
    /// # Errors
    /// [`SignalingError::Mint`] when the grant is unusable.
    pub fn mint_with_expiry(
        &self,
        subject: &str,
        role: Role,
        cameras: &[String],
        exp: u64,
    ) -> Result<String, SignalingError> {
        check_grant(role, cameras).map_err(|why| SignalingError::Mint(why.to_owned()))?;
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            cameras: cameras.to_vec(),
            exp,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies a token from `hello`.
    ///
    /// # Errors
    /// [`AuthFailure`] saying why it was refused.
    pub fn verify(&self, token: &AccessToken) -> Result<Grant, AuthFailure> {
        let data = jsonwebtoken::decode::<Claims>(token.expose(), &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthFailure::Expired,
                _ => AuthFailure::Invalid,
            })?;
        let claims = data.claims;
        check_grant(claims.role, &claims.cameras).map_err(|_| AuthFailure::BadGrant)?;
        Ok(Grant {
            subject: claims.sub,
            role: claims.role,
            cameras: claims.cameras,
        })
    }
}

/// A camera token names exactly one camera (the one it may publish); a viewer token at
/// least one; every id must be well formed.
///
/// # Errors
/// A sentence saying what is wrong with the grant.
pub fn check_grant(role: Role, cameras: &[String]) -> Result<(), &'static str> {
    if cameras.iter().any(|c| !is_valid_camera_id(c)) {
        return Err("camera ids are 1-64 characters of A-Z a-z 0-9 . _ -");
    }
    match role {
        Role::Camera if cameras.len() != 1 => Err("a camera token grants exactly one camera"),
        Role::Viewer if cameras.is_empty() => Err("a viewer token grants at least one camera"),
        _ => Ok(()),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Parses a TTL such as `90s`, `15m`, `24h` or `30d`.
///
/// # Errors
/// A sentence naming the accepted forms.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid TTL {text:?}: use a number with s, m, h or d, e.g. 24h");
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    if !text.is_char_boundary(split) {
        return Err(bad());
    }
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(bad)?;
    if secs == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority(byte: u8) -> TokenAuthority {
        let secret = TokenSecret::new(vec![byte; 32]).expect("valid secret");
        TokenAuthority::new(&secret).expect("authority")
    }

    fn cams(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn minted_token_verifies_to_its_grant() {
        let auth = authority(1);
        let token = auth
            .mint(
                "alice",
                Role::Viewer,
                &cams(&["front-door", "garage"]),
                Duration::from_secs(60),
            )
            .expect("mint");
        let grant = auth.verify(&AccessToken::new(token)).expect("valid");
        assert_eq!(grant.subject, "alice");
        assert_eq!(grant.role, Role::Viewer);
        assert!(grant.allows("garage"));
        assert!(!grant.allows("back-yard"));
    }

    #[test]
    fn other_secret_and_garbage_are_invalid_and_past_exp_is_expired() {
        let auth = authority(1);
        let forged = authority(2)
            .mint(
                "eve",
                Role::Viewer,
                &cams(&["front-door"]),
                Duration::from_secs(60),
            )
            .expect("mint");
        assert_eq!(
            auth.verify(&AccessToken::new(forged)),
            Err(AuthFailure::Invalid)
        );
        assert_eq!(
            auth.verify(&AccessToken::new("not.a.jwt".to_owned())),
            Err(AuthFailure::Invalid)
        );
        let expired = auth
            .mint_with_expiry(
                "bob",
                Role::Viewer,
                &cams(&["front-door"]),
                unix_now() - 3600,
            )
            .expect("mint");
        assert_eq!(
            auth.verify(&AccessToken::new(expired)),
            Err(AuthFailure::Expired)
        );
    }

    #[test]
    fn camera_tokens_grant_exactly_one_camera() {
        let auth = authority(1);
        let two = cams(&["a", "b"]);
        assert!(auth
            .mint("cam", Role::Camera, &two, Duration::from_secs(60))
            .is_err());
        assert!(auth
            .mint("v", Role::Viewer, &[], Duration::from_secs(60))
            .is_err());
        assert!(auth
            .mint("v", Role::Viewer, &cams(&["../x"]), Duration::from_secs(60))
            .is_err());
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("30d"), Ok(Duration::from_secs(2_592_000)));
        for bad in ["", "h", "0s", "5x", "-1h", "99999999999999999999d", "5é"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
