//! Normalised contact data (R10), the keys duplicate detection compares.

/// An e-mail address trimmed and lower-cased; empty stays empty.
///
/// ```
/// assert_eq!(touchline_core::normalize::email("  Ada.Lovelace@Example.COM "), "ada.lovelace@example.com");
/// ```
pub fn email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// A phone number as `+` and digits: separators dropped, a leading `00` read as
/// `+`. Numbers without a country prefix keep their digits as given.
///
/// ```
/// use touchline_core::normalize::phone;
/// assert_eq!(phone("+49 (30) 123-4567"), "+49301234567");
/// assert_eq!(phone("0049 30 1234567"), "+49301234567");
/// assert_eq!(phone("030 1234567"), "0301234567");
/// ```
pub fn phone(raw: &str) -> String {
    let trimmed = raw.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with('+') {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00") {
        format!("+{rest}")
    } else {
        digits
    }
}
