//! A user's search words turned into an FTS5 query that can only mean "all these words": every word
//! is quoted, so FTS5's operators and column filters typed by a user are just text.

use super::{SEARCH_QUERY_MAX_BYTES, SEARCH_TERMS_MAX, StoreError};

/// The FTS5 query for the words of `text`.
pub fn fts_query(text: &str) -> Result<String, StoreError> {
    if text.len() > SEARCH_QUERY_MAX_BYTES {
        return Err(StoreError::Invalid(format!(
            "a search may have at most {SEARCH_QUERY_MAX_BYTES} bytes"
        )));
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return Err(StoreError::Invalid("a search needs at least one word".to_owned()));
    }
    if words.len() > SEARCH_TERMS_MAX {
        return Err(StoreError::Invalid(format!(
            "a search may have at most {SEARCH_TERMS_MAX} words"
        )));
    }
    let quoted: Vec<String> = words
        .iter()
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
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
            ("text:x NEAR(", Ok(r#""text:x" "NEAR(""#)),
            (r#"say "hi""#, Ok(r#""say" """hi""""#)),
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
