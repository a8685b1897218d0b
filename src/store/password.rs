//! Passwords: checked for length, hashed with argon2id into a PHC string, verified against one.
//! These calls take tens of milliseconds of CPU on purpose; the store runs them on its own few threads.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use super::{PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS, StoreError};

/// Verified when a name has no account, so that a wrong name costs as long as a wrong password.
/// The hash of a random password nobody knows, made with the default parameters.
const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$qU2xJ0ZfW0bW9mPj6vJ3nA$2c4Ubr0xR5m3M5Jgq8vDfD7zpe9QfhYkH1VgB0sM0xA";

/// Refuse a password too short to be worth hashing or too long to hash cheaply.
pub fn check(password: &str) -> Result<(), StoreError> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(StoreError::Invalid(format!(
            "a password needs at least {PASSWORD_MIN_CHARS} characters"
        )));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(StoreError::Invalid(format!(
            "a password may have at most {PASSWORD_MAX_BYTES} bytes"
        )));
    }
    Ok(())
}

/// The PHC string of a checked password, with a fresh salt.
pub fn hash(password: &str) -> Result<String, StoreError> {
    check(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| StoreError::Disk(format!("cannot hash the password: {e}")))
}

/// Whether the password is the one `stored` was made from. Without a stored hash, a decoy is verified.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(DECOY_HASH)) else {
        return false;
    };
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        let cases: &[(&str, bool)] = &[
            ("", false),
            ("seven77", false),
            ("eight888", true),
            ("ünïcödé!", true),
            (&"x".repeat(PASSWORD_MAX_BYTES), true),
            (&"x".repeat(PASSWORD_MAX_BYTES + 1), false),
        ];
        for (password, fine) in cases {
            assert_eq!(check(password).is_ok(), *fine, "{} chars", password.chars().count());
        }
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert!(verify("correct horse", Some(&stored)));
        assert!(!verify("correct horsf", Some(&stored)));
        assert!(!verify("correct horse", None));
        assert!(!verify("correct horse", Some("not a hash")));
    }

    #[test]
    fn the_decoy_is_a_valid_hash() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }
}
