//! Who may call what (R6): API tokens carry a role, each route belongs to an
//! area (its row of [`crate::routes::ROUTES`]), and [`may`] is the one table
//! that says which role reaches which area.
//!
//! Tokens are configured by their SHA-256 digest, so a configuration file holds
//! no secret. A request without a token, or with one that matches none, gets
//! 401; a known token whose role may not use the route gets 403. Neither gets
//! data. Some answers are also trimmed per role: service sees accounts and
//! opportunities but not their amounts ([`Role::sees_amounts`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The groups that share one touchline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Marketing,
    Sales,
    Service,
    Analyst,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Marketing,
        Role::Sales,
        Role::Service,
        Role::Analyst,
        Role::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Marketing => "marketing",
            Role::Sales => "sales",
            Role::Service => "service",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Whether answers may show deal amounts, transactions and revenue.
    pub fn sees_amounts(self) -> bool {
        self != Role::Service
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a role (marketing, sales, service, analyst, admin)")
            })
    }
}

/// What a route is about; permissions are granted per area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Health and the API description: no token needed.
    Public,
    /// Counters, offsets, Prometheus metrics.
    Operations,
    /// People: leads and contacts, their touches, duplicates.
    People,
    /// The follow-up process: diary, priorities, scores, speed to lead, routing.
    FollowUp,
    /// Changing who owns a lead (re-routing).
    Routing,
    /// Accounts and opportunities (amounts hidden from service), interest, upsell.
    Accounts,
    /// Money across deals: pipeline forecast, RFM, indicators on open deals.
    Pipeline,
    /// Campaigns, attribution, funnel, literature.
    Marketing,
    /// Running the instance: backups. Admin only.
    Admin,
}

impl Area {
    pub const ALL: [Area; 9] = [
        Area::Public,
        Area::Operations,
        Area::People,
        Area::FollowUp,
        Area::Routing,
        Area::Accounts,
        Area::Pipeline,
        Area::Marketing,
        Area::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Area::Public => "public",
            Area::Operations => "operations",
            Area::People => "people",
            Area::FollowUp => "follow-up",
            Area::Routing => "routing",
            Area::Accounts => "accounts",
            Area::Pipeline => "pipeline",
            Area::Marketing => "marketing",
            Area::Admin => "admin",
        }
    }

    /// The area of a route by its path pattern, as the route table states it
    /// ([`crate::routes::ROUTES`]). A path missing there is refused to everyone
    /// but admin (see `authorize`).
    pub fn of(path: &str) -> Option<Area> {
        crate::routes::area_of(path)
    }
}

/// The permission table (README, "Access"). Pure, total, and the only place
/// that decides.
pub fn may(role: Role, area: Area) -> bool {
    use Area as A;
    use Role as R;
    match (role, area) {
        (_, A::Public) | (R::Admin, _) => true,
        (R::Analyst, A::Routing | A::Admin) => false,
        (R::Analyst, _) => true,
        (R::Marketing, A::People | A::FollowUp | A::Accounts | A::Pipeline | A::Marketing) => true,
        (
            R::Sales,
            A::People | A::FollowUp | A::Routing | A::Accounts | A::Pipeline | A::Marketing,
        ) => true,
        (R::Service, A::People | A::Accounts) => true,
        _ => false,
    }
}

/// One configured token: a name for logs, its role, and the SHA-256 of the
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token (`touchline token hash` prints it).
    pub sha256: String,
}

/// How the API checks callers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Access {
    /// No tokens: every caller acts as admin. For local use and the demo only.
    #[default]
    Open,
    Tokens(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub role: Role,
    digest: [u8; 32],
}

/// A token configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error("token {name:?}: sha256 must be 64 hex digits")]
    BadDigest { name: String },
    #[error("tokens {first:?} and {second:?} have the same secret")]
    SameSecret { first: String, second: String },
}

/// The hex SHA-256 of a token, as configured.
pub fn token_digest_hex(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_hex_digest(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut digest = [0u8; 32];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(digest)
}

impl Access {
    /// Checks the configured tokens: digests well-formed, no secret twice.
    pub fn from_tokens(tokens: &[TokenConfig]) -> Result<Access, AccessError> {
        let mut parsed: Vec<Token> = Vec::with_capacity(tokens.len());
        for token in tokens {
            let digest = parse_hex_digest(&token.sha256).ok_or_else(|| AccessError::BadDigest {
                name: token.name.clone(),
            })?;
            if let Some(other) = parsed.iter().find(|t| t.digest == digest) {
                return Err(AccessError::SameSecret {
                    first: other.name.clone(),
                    second: token.name.clone(),
                });
            }
            parsed.push(Token {
                name: token.name.clone(),
                role: token.role,
                digest,
            });
        }
        Ok(Access::Tokens(parsed))
    }

    /// The caller's role from an `Authorization` header value, or why not.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Role, Denied> {
        let tokens = match self {
            Access::Open => return Ok(Role::Admin),
            Access::Tokens(tokens) => tokens,
        };
        let header = authorization.ok_or(Denied::MissingToken)?;
        // The scheme is case-insensitive (RFC 9110).
        let (scheme, secret) = header.trim().split_once(' ').ok_or(Denied::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(Denied::NotBearer);
        }
        let secret = secret.trim();
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        tokens
            .iter()
            .find(|t| t.digest == digest)
            .map(|t| t.role)
            .ok_or(Denied::UnknownToken)
    }
}

/// Why a request was refused before it reached a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    MissingToken,
    NotBearer,
    UnknownToken,
    Forbidden { role: Role, area: Area },
}

impl Denied {
    pub fn is_unauthenticated(self) -> bool {
        !matches!(self, Denied::Forbidden { .. })
    }

    pub fn message(self) -> String {
        match self {
            Denied::MissingToken => "missing token: send Authorization: Bearer <token>".to_owned(),
            Denied::NotBearer => "the Authorization header must be Bearer <token>".to_owned(),
            Denied::UnknownToken => "unknown token".to_owned(),
            Denied::Forbidden { role, area } => {
                format!("role {role} may not use {} endpoints", area.name())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table as the README prints it: one row per area, a mark per role.
    fn table() -> String {
        let mut out = String::from("area        marketing sales service analyst admin\n");
        for area in Area::ALL {
            out.push_str(&format!("{:<11}", area.name()));
            for role in Role::ALL {
                let mark = if may(role, area) { "yes" } else { "-" };
                out.push_str(&format!(" {mark:>width$}", width = role.name().len()));
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_permission_table_is_what_the_readme_documents() {
        expect_test::expect![[r#"
            area        marketing sales service analyst admin
            public            yes   yes     yes     yes   yes
            operations          -     -       -     yes   yes
            people            yes   yes     yes     yes   yes
            follow-up         yes   yes       -     yes   yes
            routing             -   yes       -       -   yes
            accounts          yes   yes     yes     yes   yes
            pipeline          yes   yes       -     yes   yes
            marketing         yes   yes       -     yes   yes
            admin               -     -       -       -   yes
        "#]]
        .assert_eq(&table());
    }

    #[test]
    fn tokens_resolve_to_their_role_and_others_are_refused() {
        let access = Access::from_tokens(&[
            TokenConfig {
                name: "bi".into(),
                role: Role::Analyst,
                sha256: token_digest_hex("s3cret-analyst"),
            },
            TokenConfig {
                name: "desk".into(),
                role: Role::Service,
                sha256: token_digest_hex("s3cret-service").to_uppercase(),
            },
        ])
        .expect("valid tokens");
        assert_eq!(
            access.authenticate(Some("Bearer s3cret-analyst")),
            Ok(Role::Analyst)
        );
        assert_eq!(
            access.authenticate(Some("bearer s3cret-service")),
            Ok(Role::Service)
        );
        assert_eq!(access.authenticate(None), Err(Denied::MissingToken));
        assert_eq!(
            access.authenticate(Some("Basic czNjcmV0")),
            Err(Denied::NotBearer)
        );
        assert_eq!(
            access.authenticate(Some("Bearer s3cret")),
            Err(Denied::UnknownToken)
        );
        assert_eq!(Access::Open.authenticate(None), Ok(Role::Admin));
    }

    #[test]
    fn bad_token_configurations_are_refused_by_name() {
        let bad = Access::from_tokens(&[TokenConfig {
            name: "bi".into(),
            role: Role::Analyst,
            sha256: "abc".into(),
        }]);
        assert_eq!(bad, Err(AccessError::BadDigest { name: "bi".into() }));
        let twice = TokenConfig {
            name: "a".into(),
            role: Role::Sales,
            sha256: token_digest_hex("x"),
        };
        let dup = Access::from_tokens(&[
            twice.clone(),
            TokenConfig {
                name: "b".into(),
                ..twice
            },
        ]);
        assert_eq!(
            dup,
            Err(AccessError::SameSecret {
                first: "a".into(),
                second: "b".into()
            })
        );
    }
}
