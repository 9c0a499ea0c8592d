//! Who may see and change what.
//!
//! Every record that belongs to someone carries an owner, the owner's team and a [`Visibility`]. A caller's
//! [`Role`] decides the scope it reads within:
//!
//! | role    | sees                                                                          |
//! |---------|-------------------------------------------------------------------------------|
//! | admin   | everything                                                                     |
//! | manager | every record of its team (private ones too) and every public record          |
//! | member  | its own records, its team's records that are not private, and public records |
//!
//! Changing follows seeing, except that a member may change only what it owns or what its team shares; a
//! read-only API token may change nothing. The store applies the same rule inside every query (see
//! `guanxi_store::scope`), and [`Actor::can_see`] states it once in Rust for tests and for checks on loaded rows.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Manager,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// Who besides the owner may see a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// The owner, the managers of the owner's team and admins.
    Private,
    /// Everyone in the owner's team.
    #[default]
    Team,
    /// Everyone.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Team => "team",
            Visibility::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "private" => Some(Visibility::Private),
            "team" => Some(Visibility::Team),
            "public" => Some(Visibility::Public),
            _ => None,
        }
    }
}

/// What an API token may do; web sessions always have `ReadWrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenScope {
    Read,
    ReadWrite,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::ReadWrite => "read_write",
        }
    }

    pub fn parse(s: &str) -> Option<TokenScope> {
        match s {
            "read" => Some(TokenScope::Read),
            "read_write" => Some(TokenScope::ReadWrite),
            _ => None,
        }
    }
}

/// The authenticated caller of a use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub team_id: Option<Uuid>,
    pub role: Role,
    pub scope: TokenScope,
}

/// The ownership columns of a record, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ownership {
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub visibility: Visibility,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn can_write(&self) -> bool {
        self.scope == TokenScope::ReadWrite
    }

    /// The rule in the module docs, for one record.
    pub fn can_see(&self, rec: Ownership) -> bool {
        if rec.visibility == Visibility::Public || self.role == Role::Admin {
            return true;
        }
        if rec.owner_id == Some(self.user_id) {
            return true;
        }
        let same_team = self.team_id.is_some() && rec.team_id == self.team_id;
        match self.role {
            Role::Admin => true,
            Role::Manager => same_team,
            Role::Member => same_team && rec.visibility != Visibility::Private,
        }
    }

    /// Whether this caller may change a record it can see. Public records of other teams are readable by all
    /// but changed only by their team, managers and admins.
    pub fn can_change(&self, rec: Ownership) -> bool {
        if !self.can_write() {
            return false;
        }
        if self.role == Role::Admin || rec.owner_id == Some(self.user_id) {
            return true;
        }
        let same_team = self.team_id.is_some() && rec.team_id == self.team_id;
        match self.role {
            Role::Admin => true,
            Role::Manager => same_team,
            Role::Member => same_team && rec.visibility != Visibility::Private,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, team: u128) -> Actor {
        Actor {
            user_id: Uuid::from_u128(1000 + team),
            team_id: Some(Uuid::from_u128(team)),
            role,
            scope: TokenScope::ReadWrite,
        }
    }

    fn rec(owner: u128, team: u128, visibility: Visibility) -> Ownership {
        Ownership { owner_id: Some(Uuid::from_u128(owner)), team_id: Some(Uuid::from_u128(team)), visibility }
    }

    #[test]
    fn member_never_sees_another_teams_private_or_team_records() {
        let m = actor(Role::Member, 1);
        assert!(!m.can_see(rec(2000, 2, Visibility::Private)));
        assert!(!m.can_see(rec(2000, 2, Visibility::Team)));
        assert!(m.can_see(rec(2000, 2, Visibility::Public)));
        assert!(!m.can_change(rec(2000, 2, Visibility::Public)));
        assert!(m.can_see(rec(3000, 1, Visibility::Team)));
        assert!(!m.can_see(rec(3000, 1, Visibility::Private)));
        assert!(m.can_see(rec(1001, 1, Visibility::Private)));
    }

    #[test]
    fn manager_sees_its_teams_private_records_and_read_tokens_cannot_write() {
        let mgr = actor(Role::Manager, 1);
        assert!(mgr.can_see(rec(3000, 1, Visibility::Private)));
        assert!(!mgr.can_see(rec(3000, 2, Visibility::Private)));
        let mut reader = actor(Role::Admin, 1);
        reader.scope = TokenScope::Read;
        assert!(reader.can_see(rec(3000, 2, Visibility::Private)));
        assert!(!reader.can_change(rec(3000, 2, Visibility::Private)));
    }
}
