//! Cleaning of free-text fields shared by every record type.

use crate::FieldError;
use unicode_normalization::UnicodeNormalization;

/// Trims, NFC-normalises and length-checks a free-text field; an empty string means "no value".
/// Control characters other than newline and tab are rejected: they break CSV exports and terminals.
pub fn clean_text(value: Option<&str>, field: &str, max_chars: usize) -> Result<Option<String>, FieldError> {
    let Some(raw) = value else { return Ok(None) };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    // Check length on the raw input first so a 10 MB string is rejected before normalisation work.
    if trimmed.len() > max_chars * 4 || trimmed.chars().count() > max_chars {
        return Err(FieldError::new(field, "too_long", format!("must be at most {max_chars} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(FieldError::new(field, "invalid_characters", "must not contain control characters"));
    }
    Ok(Some(trimmed.nfc().collect()))
}

/// Like [`clean_text`] but the value is required.
pub fn required_text(value: Option<&str>, field: &str, max_chars: usize) -> Result<String, FieldError> {
    clean_text(value, field, max_chars)?.ok_or_else(|| FieldError::new(field, "required", "is required"))
}

/// Cleans a list of tags: trimmed, deduplicated (case-insensitively), each at most 64 characters, at most 100.
pub fn clean_tags(tags: &[String], field: &str) -> Result<Vec<String>, FieldError> {
    if tags.len() > 100 {
        return Err(FieldError::new(field, "too_many", "at most 100 tags"));
    }
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for (i, t) in tags.iter().enumerate() {
        let Some(tag) = clean_text(Some(t), &format!("{field}/{i}"), 64)? else { continue };
        if tag.contains(['\n', '\r', '\t']) {
            return Err(FieldError::new(format!("{field}/{i}"), "invalid_characters", "must be one line"));
        }
        if !out.iter().any(|o| o.to_lowercase() == tag.to_lowercase()) {
            out.push(tag);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_none_and_long_is_rejected() {
        assert_eq!(clean_text(Some("  "), "f", 5).unwrap(), None);
        assert_eq!(clean_text(Some(" 张伟 "), "f", 5).unwrap().as_deref(), Some("张伟"));
        assert_eq!(clean_text(Some("abcdef"), "f", 5).unwrap_err().code, "too_long");
        assert_eq!(clean_text(Some("a\u{0}b"), "f", 5).unwrap_err().code, "invalid_characters");
    }

    #[test]
    fn tags_are_deduplicated_case_insensitively() {
        let tags = vec!["VIP".to_string(), "vip".into(), " 重要 ".into(), "".into()];
        assert_eq!(clean_tags(&tags, "tags").unwrap(), vec!["VIP".to_string(), "重要".into()]);
    }
}
