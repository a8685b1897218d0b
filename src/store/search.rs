//! A user's search words turned into an FTS5 query that can only mean "all these words". The text is
//! cut into words where the index's tokenizer (unicode61) cuts it, at every character that is not a
//! letter or digit, and each word is quoted, so FTS5's operators typed by a user are just words. The
//! index keeps no positions (`detail=none`, half the writer's indexing work), so there are no phrases:
//! "don't" finds messages with both "don" and "t".

use super::{SEARCH_QUERY_MAX_BYTES, SEARCH_TERMS_MAX, StoreError};

/// The FTS5 query for the words of `text`.
pub fn fts_query(text: &str) -> Result<String, StoreError> {
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
    Ok(quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("hello", Ok(r#""hello""#)),
            ("  hello   world ", Ok(r#""hello" "world""#)),
            ("a OR b", Ok(r#""a" "OR" "b""#)),
            ("text:x NEAR(y)", Ok(r#""text" "x" "NEAR" "y""#)),
            (r#"say "hi" don't"#, Ok(r#""say" "hi" "don" "t""#)),
            ("ünïcödé straße", Ok(r#""ünïcödé" "straße""#)),
            ("*** ...", Err("a search needs at least one word")),
            ("", Err("a search needs at least one word")),
            ("   ", Err("a search needs at least one word")),
            (&"w ".repeat(17), Err("a search may have at most 16 words")),
            (&"x".repeat(257), Err("a search may have at most 256 bytes")),
        ];
        for (input, want) in cases {
            let got = fts_query(input).map_err(|e| e.to_string());
            assert_eq!(got, want.map(str::to_owned).map_err(str::to_owned), "input {input:?}");
        }
    }
}
