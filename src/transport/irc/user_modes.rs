//! A client's own user modes (`MODE nick +i`): the harmless ones it may set itself, and how a change
//! string applies to them (modern.ircdocs.horse, *User Modes*).

use std::fmt;

/// The user modes a client may set and unset itself: invisible (`i`) and wallops (`w`), which change
/// nothing here (sockchat lists every member and sends no wallops), but clients set them on connect.
const SETTABLE: [(char, u8); 2] = [('i', 1), ('w', 2)];

/// A client's user modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct UserModes(u8);

/// What a change string did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub modes: UserModes,
    /// The changes made, as a MODE line says them (`+i`, `-w+i`); empty if nothing changed.
    pub changed: String,
    /// Whether it named a mode that is not known (`501`).
    pub unknown: bool,
}

/// Applies `change` (`+i`, `-iw`, `+i-w`) to `modes`. `o` is known but ignored either way: operator
/// status comes with OPER, and an operator is one by account, not by mode.
pub fn apply(modes: UserModes, change: &str) -> Applied {
    let mut bits = modes.0;
    let mut adding = true;
    let mut changed = String::new();
    let mut sign_said = None;
    let mut unknown = false;
    for letter in change.chars() {
        match letter {
            '+' => adding = true,
            '-' => adding = false,
            'o' | 'O' => {}
            _ => match SETTABLE.iter().find(|(l, _)| *l == letter) {
                None => unknown = true,
                Some(&(_, bit)) => {
                    let had = bits & bit != 0;
                    if had == adding {
                        continue;
                    }
                    bits ^= bit;
                    if sign_said != Some(adding) {
                        changed.push(if adding { '+' } else { '-' });
                        sign_said = Some(adding);
                    }
                    changed.push(letter);
                }
            },
        }
    }
    Applied {
        modes: UserModes(bits),
        changed,
        unknown,
    }
}

impl fmt::Display for UserModes {
    /// As `221` says them: `+` and the letters set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("+")?;
        for (letter, bit) in SETTABLE {
            if self.0 & bit != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_apply_and_say_what_changed() {
        let i = apply(UserModes::default(), "+i").modes;
        let cases: &[(UserModes, &str, &str, &str, bool)] = &[
            (UserModes::default(), "+i", "+", "+i", false),
            (UserModes::default(), "+iw", "+", "+iw", false),
            (i, "+i", "+i", "", false),
            (i, "-i", "+i", "-i", false),
            (i, "-i+w", "+i", "-i+w", false),
            (UserModes::default(), "+o", "+", "", false),
            (UserModes::default(), "+ix", "+", "+i", true),
            (UserModes::default(), "+Z", "+", "", true),
        ];
        for &(before, change, was, changed, unknown) in cases {
            assert_eq!(before.to_string(), was);
            let applied = apply(before, change);
            assert_eq!(
                (applied.changed.as_str(), applied.unknown),
                (changed, unknown),
                "{change}"
            );
        }
        assert_eq!(apply(i, "+w").modes.to_string(), "+iw");
    }
}
