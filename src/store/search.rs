//! A user's search words turned into an FTS5 query that can only mean "all these words". The text is
//! cut into words where the index's tokenizer (unicode61) cuts it, at every character that is not a
//! letter or digit, and each word is quoted, so FTS5's operators typed by a user are just words. The
//! index keeps no positions (`detail=none`, half the writer's indexing work), so there are no phrases:
//! "don't" finds messages with both "don" and "t".

use super::{SEARCH_QUERY_MAX_BYTES, SEARCH_TERMS_MAX, StoreError};

/// The FTS5 query for the words of `text`, in messages carrying one of the `scope` tokens if given.
pub fn fts_query(text: &str, scope: Option<&[String]>) -> Result<String, StoreError> {
    if text.len() > SEARCH_QUERY_MAX_BYTES {
        return Err(StoreError::Invalid(format!(
            "a search may have at most {SEARCH_QUERY_MAX_BYTES} bytes"
        )));
    }
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        return Err(StoreError::Invalid("a search needs at least one word".to_owned()));
    }
    if words.len() > SEARCH_TERMS_MAX {
        return Err(StoreError::Invalid(format!(
            "a search may have at most {SEARCH_TERMS_MAX} words"
        )));
    }
    let quoted: Vec<String> = words.iter().map(|word| format!("\"{word}\"")).collect();
    let words = quoted.join(" AND ");
    match scope {
        None => Ok(words),
        Some(scope) => {
            let scope: Vec<String> = scope.iter().map(|token| format!("\"{token}\"")).collect();
            Ok(format!("({words}) AND ({})", scope.join(" OR ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("hello", Ok(r#"("hello") AND ("r1" OR "a2")"#)),
            ("  hello   world ", Ok(r#"("hello" AND "world") AND ("r1" OR "a2")"#)),
            ("a OR b", Ok(r#"("a" AND "OR" AND "b") AND ("r1" OR "a2")"#)),
            (
                "text:x NEAR(y)",
                Ok(r#"("text" AND "x" AND "NEAR" AND "y") AND ("r1" OR "a2")"#),
            ),
            (
                r#"say "hi" don't"#,
                Ok(r#"("say" AND "hi" AND "don" AND "t") AND ("r1" OR "a2")"#),
            ),
            ("ünïcödé straße", Ok(r#"("ünïcödé" AND "straße") AND ("r1" OR "a2")"#)),
            ("*** ...", Err("a search needs at least one word")),
            ("", Err("a search needs at least one word")),
            ("   ", Err("a search needs at least one word")),
            (&"w ".repeat(17), Err("a search may have at most 16 words")),
            (&"x".repeat(257), Err("a search may have at most 256 bytes")),
        ];
        let scope = ["r1".to_owned(), "a2".to_owned()];
        for (input, want) in cases {
            let got = fts_query(input, Some(&scope)).map_err(|e| e.to_string());
            assert_eq!(got, want.map(str::to_owned).map_err(str::to_owned), "input {input:?}");
        }
        let unscoped = [("hello", r#""hello""#), ("a b", r#""a" AND "b""#)];
        for (input, want) in unscoped {
            assert_eq!(fts_query(input, None).unwrap(), want, "input {input:?}");
        }
    }
}
