//! Tokens in the OS keyring (Secret Service on Linux), never on disk. A
//! token is stored per profile and admin URL, so a profile pointed at another
//! server does not send it the old server's token.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::profiles::Profile;

const SERVICE: &str = "opsdeck";

/// A bearer token. Its `Debug` never shows the value, so it cannot leak into
/// logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token as typed or piped in: surrounding whitespace is dropped, an
    /// empty one is an error.
    pub fn new(raw: &str) -> Result<Self> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(Error::invalid("token", "is empty"));
        }
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "token",
                "must not contain spaces or control characters",
            ));
        }
        Ok(Self(token.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Where tokens are kept. The real one is the OS keyring; tests of core's
/// logic use an in-memory one.
pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<Token>>;
    fn set(&self, account: &str, token: &Token) -> Result<()>;
    fn delete(&self, account: &str) -> Result<()>;
}

/// The keyring account of a profile's token.
pub fn account(profile: &Profile) -> String {
    format!("{}@{}", profile.name, profile.admin_url)
}

/// The OS keyring through the `keyring` crate (Secret Service on Linux).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

fn keyring_error(e: keyring::Error) -> Error {
    Error::Keyring {
        message: e.to_string(),
    }
}

impl SecretStore for OsKeyring {
    fn get(&self, account: &str) -> Result<Option<Token>> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(keyring_error)?;
        match entry.get_password() {
            Ok(secret) => Ok(Some(Token(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn set(&self, account: &str, token: &Token) -> Result<()> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(keyring_error)?;
        entry.set_password(token.expose()).map_err(keyring_error)?;
        // Read it back: a keyring that accepts a write but keeps nothing
        // would otherwise surface only at the next start.
        match entry.get_password() {
            Ok(back) if back == token.expose() => Ok(()),
            Ok(_) => Err(Error::Keyring {
                message: "the keyring returned another value than was stored".into(),
            }),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn delete(&self, account: &str) -> Result<()> {
        let entry = keyring::Entry::new(SERVICE, account).map_err(keyring_error)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// Tokens in memory, for tests of core's logic.
#[derive(Debug, Default)]
pub struct MemorySecrets(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl SecretStore for MemorySecrets {
    fn get(&self, account: &str) -> Result<Option<Token>> {
        Ok(self.lock().get(account).cloned().map(Token))
    }
    fn set(&self, account: &str, token: &Token) -> Result<()> {
        self.lock().insert(account.into(), token.0.clone());
        Ok(())
    }
    fn delete(&self, account: &str) -> Result<()> {
        self.lock().remove(account);
        Ok(())
    }
}

impl MemorySecrets {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub type SharedSecrets = Arc<dyn SecretStore>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_the_value() {
        let token = Token::new(" opd_secret \n").expect("token");
        assert_eq!(token.expose(), "opd_secret");
        assert!(!format!("{token:?}").contains("secret"));
    }

    #[test]
    fn empty_or_spaced_tokens_are_rejected() {
        assert!(Token::new("  \n").is_err());
        assert!(Token::new("a b").is_err());
    }
}
