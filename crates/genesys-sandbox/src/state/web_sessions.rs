//! Authenticated web-messaging sessions: one per successful exchange, holding the guest identity,
//! the refresh token and its hard expiry.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{far_future, random_token};
use crate::records::WebSessionRecord;

struct Session {
    record: WebSessionRecord,
    // tokio's clock, like access tokens, so tests on paused time can let it lapse.
    refresh_expires_at: Instant,
}

/// Why a refresh token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshRefusal {
    Unknown,
    Expired,
    Revoked,
}

#[derive(Default)]
pub(crate) struct Sessions {
    sessions: Vec<Session>,
    by_refresh_token: HashMap<String, usize>,
}

impl Sessions {
    /// Starts a session; answers its id and refresh token.
    pub(crate) fn open(&mut self, deployment_id: &str, subject: &str, refresh_ttl: Duration) -> (String, String) {
        let session_id = uuid::Uuid::new_v4().to_string();
        let refresh_token = random_token(32);
        let now = Instant::now();
        // A TTL too large to add to the clock means "never", like the other TTLs.
        let refresh_expires_at = now.checked_add(refresh_ttl).unwrap_or_else(far_future);
        let issued = (session_id.clone(), refresh_token.clone());
        self.by_refresh_token.insert(refresh_token, self.sessions.len());
        self.sessions.push(Session {
            record: WebSessionRecord {
                session_id: session_id.clone(),
                deployment_id: deployment_id.to_owned(),
                subject: subject.to_owned(),
                jwts_issued: 0,
                revoked: false,
            },
            refresh_expires_at,
        });
        issued
    }

    /// The live session a refresh token belongs to, for `deployment_id`.
    pub(crate) fn by_refresh_token(
        &self,
        refresh_token: &str,
        deployment_id: &str,
    ) -> Result<&WebSessionRecord, RefreshRefusal> {
        let session = self
            .by_refresh_token
            .get(refresh_token)
            .and_then(|index| self.sessions.get(*index))
            .filter(|session| session.record.deployment_id == deployment_id)
            .ok_or(RefreshRefusal::Unknown)?;
        if session.record.revoked {
            Err(RefreshRefusal::Revoked)
        } else if Instant::now() >= session.refresh_expires_at {
            Err(RefreshRefusal::Expired)
        } else {
            Ok(&session.record)
        }
    }

    pub(crate) fn get(&self, session_id: &str) -> Option<&WebSessionRecord> {
        self.find(session_id).map(|session| &session.record)
    }

    pub(crate) fn count_jwt(&mut self, session_id: &str) {
        if let Some(session) = self.find_mut(session_id) {
            session.record.jwts_issued += 1;
        }
    }

    /// `false` when there is no such live session.
    pub(crate) fn revoke(&mut self, session_id: &str) -> bool {
        match self.find_mut(session_id) {
            Some(session) if !session.record.revoked => {
                session.record.revoked = true;
                true
            }
            _ => false,
        }
    }

    /// Every refresh token issued so far lapses now; later exchanges are unaffected.
    pub(crate) fn expire_refresh_tokens(&mut self) {
        let now = Instant::now();
        for session in &mut self.sessions {
            session.refresh_expires_at = now;
        }
    }

    /// Every refresh token issued so far, in no particular order.
    pub(crate) fn refresh_tokens(&self) -> Vec<String> {
        self.by_refresh_token.keys().cloned().collect()
    }

    pub(crate) fn records(&self) -> Vec<WebSessionRecord> {
        self.sessions.iter().map(|session| session.record.clone()).collect()
    }

    fn find(&self, session_id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.record.session_id == session_id)
    }

    fn find_mut(&mut self, session_id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.record.session_id == session_id)
    }
}
