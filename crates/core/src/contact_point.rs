//! Email addresses and phone numbers: parsing, validation and the normalised forms the CRM stores, deduplicates and
//! searches on. Once you hold an [`EmailAddress`] or a [`PhoneNumber`] it is valid and normalised.
//!
//! Errors are [`FieldError`]s with an empty field path; the caller re-roots them with [`FieldError::under`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

use crate::error::FieldError;

/// RFC 5321 limits (counted in characters; for ASCII addresses that is the same as octets).
const EMAIL_MAX_CHARS: usize = 254;
const EMAIL_LOCAL_MAX_CHARS: usize = 64;
const DOMAIN_LABEL_MAX_CHARS: usize = 63;

/// Longest raw phone input we look at; longer text is not a phone number (and is rejected before normalisation).
const PHONE_INPUT_MAX_BYTES: usize = 128;
/// E.164 allows 15 digits; national prefixes, IDD prefixes and a few typos on top still fit in this.
const PHONE_MAX_DIGITS: usize = 20;
const EXTENSION_MAX_DIGITS: usize = 10;

fn err(code: &'static str, message: impl Into<String>) -> FieldError {
    FieldError::new("", code, message)
}

/// Characters that are invisible or reorder text: never legitimate in an address, and a spoofing vector.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' | '\u{00AD}')
}

// ---------------------------------------------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------------------------------------------

/// A syntactically valid email address in normalised form: trimmed, NFC, and **entirely lowercased**.
///
/// Lowercasing the local part is technically lossy (RFC 5321 lets a server treat `Zhang.Wei` and `zhang.wei` as
/// different mailboxes), but no mainstream provider does, users type addresses in any case, and the CRM deduplicates
/// contacts and looks them up by address: two contacts that differ only in the case of their email are the same
/// person in practice. Internationalised domains are kept in Unicode (lowercased), not converted to punycode.
///
/// Chinese input methods often produce a full-width `＠` and ideographic full stops (`。`); these are read as `@`
/// and `.`, as IDNA (UTS #46) does for domains.
///
/// ```
/// use guanxi_core::contact_point::EmailAddress;
/// let e = EmailAddress::parse(" Zhang.Wei@Example.COM ").unwrap();
/// assert_eq!(e.as_str(), "zhang.wei@example.com");
/// assert_eq!((e.local_part(), e.domain()), ("zhang.wei", "example.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("required", "an email address is required"));
        }
        // Cheap guard before normalisation work: NFC never shrinks text by more than a small factor.
        if trimmed.len() > EMAIL_MAX_CHARS * 16 {
            return Err(err("too_long", format!("must be at most {EMAIL_MAX_CHARS} characters")));
        }
        let normalised: String = trimmed
            .chars()
            .map(|c| match c {
                '\u{FF20}' | '\u{FE6B}' => '@',
                '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
                c => c,
            })
            .nfc()
            .flat_map(char::to_lowercase)
            .nfc()
            .collect();

        if normalised.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c)) {
            return Err(err("invalid_email", "must not contain spaces, control or invisible characters"));
        }
        let (local, domain) = match normalised.split_once('@') {
            None => return Err(err("invalid_email", "must contain an @")),
            Some((_, d)) if d.contains('@') => return Err(err("invalid_email", "must contain exactly one @")),
            Some(parts) => parts,
        };
        if local.is_empty() {
            return Err(err("invalid_email", "the part before the @ is empty"));
        }
        if domain.is_empty() {
            return Err(err("invalid_email", "the domain after the @ is empty"));
        }
        if normalised.chars().count() > EMAIL_MAX_CHARS {
            return Err(err("too_long", format!("must be at most {EMAIL_MAX_CHARS} characters")));
        }
        if local.chars().count() > EMAIL_LOCAL_MAX_CHARS {
            return Err(err(
                "too_long",
                format!("the part before the @ must be at most {EMAIL_LOCAL_MAX_CHARS} characters"),
            ));
        }
        // Quoted local parts and comments are legal in RFC 5322 but never seen in real contact data.
        if local.contains(['"', '(', ')', ',', ':', ';', '<', '>', '[', ']', '\\']) {
            return Err(err("invalid_email", "the part before the @ contains a character that is not allowed"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(err(
                "invalid_email",
                "the part before the @ must not start or end with a dot or contain two dots in a row",
            ));
        }
        check_domain(domain)?;
        Ok(EmailAddress(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(l, _)| l)
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn check_domain(domain: &str) -> Result<(), FieldError> {
    let mut labels = 0usize;
    let mut last = "";
    for label in domain.split('.') {
        labels += 1;
        last = label;
        if label.is_empty() {
            return Err(err(
                "invalid_email",
                "the domain must not start or end with a dot or contain two dots in a row",
            ));
        }
        if label.chars().count() > DOMAIN_LABEL_MAX_CHARS {
            return Err(err(
                "invalid_email",
                format!("each part of the domain must be at most {DOMAIN_LABEL_MAX_CHARS} characters"),
            ));
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(err("invalid_email", "the domain may contain only letters, digits, hyphens and dots"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(err("invalid_email", "a part of the domain must not start or end with a hyphen"));
        }
    }
    // A bare host name (`user@localhost`) is not an address a CRM contact can be reached at.
    if labels < 2 {
        return Err(err("invalid_email", "the domain must contain a dot (like example.com)"));
    }
    if last.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("invalid_email", "the domain must not end in a number"));
    }
    Ok(())
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for EmailAddress {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        EmailAddress::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        EmailAddress::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

// Written by hand rather than `#[serde(try_from = "String")]` because that needs `FieldError: Display`.
impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EmailAddress::parse(&s).map_err(|e| serde::de::Error::custom(format!("invalid email address: {}", e.message)))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Region
// ---------------------------------------------------------------------------------------------------------------

/// An ISO 3166-1 alpha-2 region code known to the phone number metadata (`CN`, `HK`, `US`…). It is the region a
/// phone number written without a country code is read in. Defaults to [`Region::CN`].
///
/// ```
/// use guanxi_core::contact_point::Region;
/// assert_eq!(Region::parse(" hk ").unwrap().as_str(), "HK");
/// assert!(Region::parse("ZZ").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region([u8; 2]);

impl Region {
    pub const CN: Region = Region(*b"CN");
    pub const HK: Region = Region(*b"HK");
    pub const MO: Region = Region(*b"MO");
    pub const TW: Region = Region(*b"TW");
    pub const SG: Region = Region(*b"SG");
    pub const US: Region = Region(*b"US");
    pub const GB: Region = Region(*b"GB");

    pub fn parse(input: &str) -> Result<Region, FieldError> {
        let s = input.trim();
        let b = s.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(err("invalid_region", "must be a two-letter ISO 3166 region code such as CN"));
        }
        let region = Region([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]);
        if region.phone_id().is_none() {
            return Err(err("invalid_region", format!("unknown region code {}", region.as_str())));
        }
        Ok(region)
    }

    pub fn as_str(&self) -> &str {
        // Always two ASCII letters, so this never falls back.
        std::str::from_utf8(&self.0).unwrap_or("CN")
    }

    fn phone_id(self) -> Option<phonenumber::country::Id> {
        phonenumber::country::Id::from_str(self.as_str()).ok()
    }
}

impl Default for Region {
    fn default() -> Self {
        Region::CN
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        Region::parse(s)
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Region::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------------------------

/// A valid phone number in E.164 form (`+8613800138000`), with an optional extension kept apart.
///
/// Accepted spellings: international (`+86 138 0013 8000`, `0086-138-0013-8000`), national in the default region
/// (`138 0013 8000`, `(010) 6552 9988`), full-width digits and punctuation (`１３８００１３８０００`), a leading
/// `tel:`, and an extension introduced by `x`, `ext`, `ext.`, `extension`, `#`, `,`, `;ext=`, `转` or `分机`.
/// Letters (vanity numbers such as `1-800-FLOWERS`) are rejected.
///
/// Its string form (Display, serde) is the E.164 number, followed by `;ext=NNN` (the RFC 3966 extension
/// parameter) only when there is an extension. Parsing that string gives the same value back.
///
/// ```
/// use guanxi_core::contact_point::{PhoneNumber, Region};
/// let p = PhoneNumber::parse("(010) 6552 9988 转 123", Region::CN).unwrap();
/// assert_eq!(p.e164(), "+861065529988");
/// assert_eq!((p.country_code(), p.national_digits(), p.extension()), (86, "1065529988", Some("123")));
/// assert_eq!(p.to_string(), "+861065529988;ext=123");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
    extension: Option<String>,
}

impl PhoneNumber {
    pub fn parse(input: &str, default_region: Region) -> Result<PhoneNumber, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("required", "a phone number is required"));
        }
        if trimmed.len() > PHONE_INPUT_MAX_BYTES {
            return Err(err("too_long", "is too long to be a phone number"));
        }
        // NFKC turns full-width digits, plus signs, parentheses and spaces into ASCII.
        let normalised: String = trimmed.nfkc().collect();
        let mut text = normalised.trim();
        if text.len() >= 4 && text.as_bytes()[..4].eq_ignore_ascii_case(b"tel:") {
            text = text[4..].trim_start();
        }
        let (number, extension) = split_extension(text)?;

        let mut plus = false;
        let mut digits = String::with_capacity(PHONE_MAX_DIGITS + 1);
        for c in number.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if !plus && digits.is_empty() => plus = true,
                c if c.is_whitespace() => {}
                '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' => {}
                _ => {
                    return Err(err(
                        "invalid_phone",
                        "may contain only digits, spaces, a leading +, the characters - . ( ) / and an extension",
                    ));
                }
            }
        }
        if digits.is_empty() {
            return Err(err("invalid_phone", "contains no digits"));
        }
        if digits.len() > PHONE_MAX_DIGITS {
            return Err(err("too_long", "has too many digits to be a phone number"));
        }

        let parsed = parse_digits(&digits, plus, default_region);
        let parsed = match parsed {
            Ok(p) => p,
            Err(phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd) => {
                return Err(err("invalid_phone", "is too short to be a phone number"));
            }
            Err(phonenumber::ParseError::TooLong) => return Err(err("too_long", "is too long to be a phone number")),
            Err(_) => return Err(err("invalid_phone", "is not a phone number")),
        };
        let country_code = parsed.code().value();
        let e164 = format!("+{country_code}{}", parsed.national());
        if !parsed.is_valid() {
            let how = if plus || digits.starts_with("00") {
                String::new()
            } else {
                format!("; numbers without a country code are read as {default_region} numbers")
            };
            return Err(err("invalid_phone", format!("is not a valid phone number (read as {e164}{how})")));
        }
        Ok(PhoneNumber { e164, country_code, extension })
    }

    /// The number in E.164 form, without the extension: `+8613800138000`.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The national significant number: the digits after the country code, without a trunk prefix
    /// (`13800138000`, `1065529988` for Beijing's `(010) 6552 9988`).
    pub fn national_digits(&self) -> &str {
        let cc_len = digit_count(self.country_code);
        self.e164.get(1 + cc_len..).unwrap_or("")
    }

    /// The country calling code: 86 for China, 1 for NANP.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }

    /// The extension digits, if any.
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }
}

/// Runs `phonenumber` on cleaned digits, working around its use of the *default* region's national prefix rules
/// for numbers that carry their own country code (it turns `+86 138…` read with region US into `+86 38…`).
fn parse_digits(digits: &str, plus: bool, region: Region) -> Result<phonenumber::PhoneNumber, phonenumber::ParseError> {
    if plus {
        return phonenumber::parse(None, format!("+{digits}"));
    }
    let region_id = region.phone_id().unwrap_or(phonenumber::country::Id::CN);
    let region_code = phonenumber::metadata::DATABASE.by_id(region.as_str()).map(|m| m.country_code());
    let parsed = phonenumber::parse(Some(region_id), digits);
    match &parsed {
        // Read with another country code: an IDD prefix (`00`, `011`…) or the bare country code came first.
        // Re-read from the country code on, without the default region's rules.
        Ok(p) if Some(p.code().value()) != region_code => {
            let cc = p.code().value().to_string();
            (0..=4)
                .find(|&k| digits.get(k..).is_some_and(|rest| rest.starts_with(&cc)))
                .map_or(parsed.clone(), |k| phonenumber::parse(None, format!("+{}", &digits[k..])))
        }
        // `00` is the international prefix almost everywhere; accept it even where the region's own differs.
        _ if digits.starts_with("00") && !parsed.as_ref().is_ok_and(|p| p.is_valid()) => {
            match phonenumber::parse(None, format!("+{}", &digits[2..])) {
                Ok(p) if p.is_valid() => Ok(p),
                _ => parsed,
            }
        }
        _ => parsed,
    }
}

fn digit_count(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

/// Extension markers, longest first where one is a prefix of another. Matched ASCII-case-insensitively.
const EXTENSION_MARKERS: &[&str] = &[";ext=", "extension", "ext.", "ext", "x", "#", ",", "转", "分机号", "分机"];

/// Splits `number [marker] digits` into the number and the extension. The marker must follow at least one digit.
fn split_extension(s: &str) -> Result<(&str, Option<String>), FieldError> {
    let mut seen_digit = false;
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            seen_digit = true;
            continue;
        }
        if !seen_digit {
            continue;
        }
        let rest = &s[i..];
        let Some(marker) = EXTENSION_MARKERS
            .iter()
            .find(|m| rest.len() >= m.len() && rest.as_bytes()[..m.len()].eq_ignore_ascii_case(m.as_bytes()))
        else {
            continue;
        };
        let tail =
            rest[marker.len()..].trim_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ':' | '=' | '-' | '#'));
        if tail.is_empty() || tail.len() > EXTENSION_MAX_DIGITS || !tail.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("invalid_phone", format!("the extension must be 1 to {EXTENSION_MAX_DIGITS} digits")));
        }
        return Ok((&s[..i], Some(tail.to_string())));
    }
    Ok((s, None))
}

/// Splits a string of digits that starts with a country calling code (no `+`) into the code and the rest:
/// `"8613800138000"` → `(86, "13800138000")`. Calling codes are prefix-free, so at most one prefix matches.
/// Returns `None` when the digits do not start with an assigned code.
///
/// ```
/// use guanxi_core::contact_point::split_country_code;
/// assert_eq!(split_country_code("14155552671"), Some((1, "4155552671")));
/// assert_eq!(split_country_code("8613800138000"), Some((86, "13800138000")));
/// ```
pub fn split_country_code(digits: &str) -> Option<(u16, &str)> {
    if digits.starts_with('0') {
        return None;
    }
    for len in 1..=3 {
        let head = digits.get(..len)?;
        if !head.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let code: u16 = head.parse().ok()?;
        if COUNTRY_CALLING_CODES.binary_search(&code).is_ok() {
            return Some((code, &digits[len..]));
        }
    }
    None
}

/// Assigned country calling codes: those in the phone metadata plus the non-geographic ITU codes.
/// A test checks this table against the `phonenumber` metadata.
const COUNTRY_CALLING_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60,
    61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211, 212, 213, 216, 218, 220, 221, 222, 223,
    224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290,
    291, 297, 298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377, 378,
    380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591,
    592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686,
    687, 688, 689, 690, 691, 692, 800, 808, 850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961,
    962, 963, 964, 965, 966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)?;
        if let Some(ext) = &self.extension {
            write!(f, ";ext={ext}")?;
        }
        Ok(())
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Stored values always carry a country code, so the region used here ([`Region::CN`]) only matters for
/// hand-written input without one.
impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PhoneNumber::parse(&s, Region::CN)
            .map_err(|e| serde::de::Error::custom(format!("invalid phone number: {}", e.message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_normalised() {
        let e = EmailAddress::parse("  Zhang.Wei+CRM@Example.COM\t").unwrap();
        assert_eq!(e.as_str(), "zhang.wei+crm@example.com");
        assert_eq!(e.local_part(), "zhang.wei+crm");
        assert_eq!(e.domain(), "example.com");
        assert_eq!(EmailAddress::parse("王伟@例子.中国").unwrap().domain(), "例子.中国");
        assert_eq!(EmailAddress::parse("a＠Example。com").unwrap().as_str(), "a@example.com");
        assert_eq!(EmailAddress::parse("o'brien@xn--fsq.com").unwrap().as_str(), "o'brien@xn--fsq.com");
        assert_eq!(EmailAddress::parse("JOSÉ@Bücher.DE").unwrap().as_str(), "josé@bücher.de");
    }

    #[test]
    fn bad_emails_are_rejected() {
        let cases = [
            ("", "required"),
            ("   ", "required"),
            ("zhang.example.com", "invalid_email"),
            ("a@b@example.com", "invalid_email"),
            ("@example.com", "invalid_email"),
            ("zhang@", "invalid_email"),
            ("zhang wei@example.com", "invalid_email"),
            ("zhang\u{0}@example.com", "invalid_email"),
            ("zhang\u{202E}@example.com", "invalid_email"),
            ("zhang@localhost", "invalid_email"),
            ("zhang@example..com", "invalid_email"),
            ("zhang@.example.com", "invalid_email"),
            ("zhang@example.com.", "invalid_email"),
            ("zhang@-example.com", "invalid_email"),
            ("zhang@exa_mple.com", "invalid_email"),
            ("zhang@1.2.3.4", "invalid_email"),
            ("zhang@[1.2.3.4]", "invalid_email"),
            (".zhang@example.com", "invalid_email"),
            ("zh..ang@example.com", "invalid_email"),
            ("\"zhang\"@example.com", "invalid_email"),
        ];
        for (input, code) in cases {
            let e = EmailAddress::parse(input).expect_err(input);
            assert_eq!(e.code, code, "{input}: {}", e.message);
            assert_eq!(e.field, "");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(EmailAddress::parse(&long_local).unwrap_err().code, "too_long");
        let long = format!("a@{}.com", vec!["b".repeat(60); 5].join("."));
        assert_eq!(EmailAddress::parse(&long).unwrap_err().code, "too_long");
        let label = format!("a@{}.com", "b".repeat(64));
        assert_eq!(EmailAddress::parse(&label).unwrap_err().code, "invalid_email");
        assert_eq!(EmailAddress::parse(&"a".repeat(1 << 20)).unwrap_err().code, "too_long");
    }

    #[test]
    fn email_serde_round_trips_and_validates() {
        let e = EmailAddress::parse("Ada@Example.com").unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, "\"ada@example.com\"");
        assert_eq!(serde_json::from_str::<EmailAddress>(&json).unwrap(), e);
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
        assert_eq!(EmailAddress::try_from("X@Y.cn".to_string()).unwrap().to_string(), "x@y.cn");
    }

    #[test]
    fn regions() {
        assert_eq!(Region::default(), Region::CN);
        assert_eq!(Region::parse("us").unwrap(), Region::US);
        for bad in ["", "C", "CHN", "Z9", "ZZ", "中国"] {
            assert_eq!(Region::parse(bad).unwrap_err().code, "invalid_region", "{bad}");
        }
        for r in [Region::CN, Region::HK, Region::MO, Region::TW, Region::SG, Region::US, Region::GB] {
            assert_eq!(Region::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(serde_json::to_string(&Region::HK).unwrap(), "\"HK\"");
        assert_eq!(serde_json::from_str::<Region>("\"tw\"").unwrap(), Region::TW);
    }

    #[test]
    fn phone_spellings() {
        let cases: &[(&str, Region, &str, Option<&str>)] = &[
            ("+86 138 0013 8000", Region::CN, "+8613800138000", None),
            ("0086-138-0013-8000", Region::CN, "+8613800138000", None),
            ("0086-138-0013-8000", Region::US, "+8613800138000", None),
            ("138 0013 8000", Region::CN, "+8613800138000", None),
            ("１３８００１３８０００", Region::CN, "+8613800138000", None),
            ("＋８６ １３８－００１３－８０００", Region::CN, "+8613800138000", None),
            ("tel:+86-138-0013-8000", Region::US, "+8613800138000", None),
            ("(010) 6552 9988", Region::CN, "+861065529988", None),
            ("010-65529988", Region::CN, "+861065529988", None),
            ("+1 (415) 555-2671", Region::CN, "+14155552671", None),
            ("415.555.2671", Region::US, "+14155552671", None),
            ("+1 415 555 2671 x123", Region::CN, "+14155552671", Some("123")),
            ("+1 415 555 2671 ext. 123", Region::CN, "+14155552671", Some("123")),
            ("+1 415 555 2671 EXT 123", Region::CN, "+14155552671", Some("123")),
            ("+1 415 555 2671;ext=123", Region::CN, "+14155552671", Some("123")),
            ("010 6552 9988 转123", Region::CN, "+861065529988", Some("123")),
            ("010 6552 9988 分机 8", Region::CN, "+861065529988", Some("8")),
            ("+44 20 7946 0958", Region::CN, "+442079460958", None),
            ("2345 6789", Region::HK, "+85223456789", None),
            ("400-810-8888", Region::CN, "+864008108888", None),
        ];
        for (input, region, e164, ext) in cases {
            let p = PhoneNumber::parse(input, *region).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(p.e164(), *e164, "{input}");
            assert_eq!(p.extension(), *ext, "{input}");
        }
        let p = PhoneNumber::parse("(010) 6552 9988", Region::CN).unwrap();
        assert_eq!((p.country_code(), p.national_digits()), (86, "1065529988"));
        let p = PhoneNumber::parse("+1 415 555 2671 x123", Region::CN).unwrap();
        assert_eq!((p.country_code(), p.national_digits()), (1, "4155552671"));
        assert_eq!(p.to_string(), "+14155552671;ext=123");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"+14155552671;ext=123\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>("\"+14155552671;ext=123\"").unwrap(), p);
    }

    #[test]
    fn bad_phones_are_rejected() {
        let cases = [
            ("", "required"),
            ("abc", "invalid_phone"),
            ("1-800-FLOWERS", "invalid_phone"),
            ("12", "invalid_phone"),
            ("138 0013 800", "invalid_phone"),
            ("+1 123 456 7890", "invalid_phone"),
            ("+86 000 0000 0000", "invalid_phone"),
            ("138 0013 8000 ext", "invalid_phone"),
            ("138 0013 8000 x12345678901", "invalid_phone"),
            ("13800138000+1", "invalid_phone"),
            ("123456789012345678901", "too_long"),
            ("x123", "invalid_phone"),
        ];
        for (input, code) in cases {
            let e = PhoneNumber::parse(input, Region::CN).expect_err(input);
            assert_eq!(e.code, code, "{input}: {}", e.message);
        }
        let e = PhoneNumber::parse("138 0013 800", Region::CN).unwrap_err();
        assert!(e.message.contains("CN"), "{}", e.message);
        assert_eq!(PhoneNumber::parse(&"1".repeat(1 << 20), Region::CN).unwrap_err().code, "too_long");
    }

    #[test]
    fn country_code_table_matches_metadata_and_is_prefix_free() {
        assert!(COUNTRY_CALLING_CODES.windows(2).all(|w| w[0] < w[1]));
        for m in phonenumber::metadata::DATABASE.iter() {
            assert!(COUNTRY_CALLING_CODES.contains(&m.country_code()), "{}", m.country_code());
        }
        for &a in COUNTRY_CALLING_CODES {
            for &b in COUNTRY_CALLING_CODES {
                let (a, b) = (a.to_string(), b.to_string());
                assert!(a == b || !b.starts_with(&a), "{a} is a prefix of {b}");
            }
        }
        assert_eq!(split_country_code("85223456789"), Some((852, "23456789")));
        assert_eq!(split_country_code(""), None);
        assert_eq!(split_country_code("0086"), None);
        assert_eq!(split_country_code("01234"), None);
        assert_eq!(split_country_code("2"), None);
    }

    fn cn_mobile() -> impl Strategy<Value = String> {
        "1(3[0-9]|5[0-35-9]|8[0-9])[0-9]{8}"
    }

    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| if c.is_ascii_digit() { char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c) } else { c })
            .collect()
    }

    proptest! {
        #[test]
        fn cn_mobile_spellings_agree(n in cn_mobile()) {
            let expected = format!("+86{n}");
            let (a, b, c) = (&n[..3], &n[3..7], &n[7..]);
            let spellings = [
                n.clone(),
                format!("+86{n}"),
                format!("+86 {a} {b} {c}"),
                format!("0086-{a}-{b}-{c}"),
                format!("({a}) {b}-{c}"),
                format!("{a}.{b}.{c}"),
                full_width(&n),
                format!("tel:+86-{a}-{b}-{c}"),
            ];
            for s in spellings {
                let p = PhoneNumber::parse(&s, Region::CN).map_err(|e| TestCaseError::fail(format!("{s}: {e:?}")))?;
                prop_assert_eq!(p.e164(), expected.as_str(), "{}", s);
                prop_assert_eq!(p.national_digits(), n.as_str());
                if s.starts_with(['+', '0', 't']) {
                    prop_assert_eq!(PhoneNumber::parse(&s, Region::US).ok(), Some(p));
                }
            }
        }

        #[test]
        fn phone_parse_never_panics_and_is_idempotent(s in "\\PC{0,40}", region in prop::sample::select(vec![Region::CN, Region::US, Region::HK, Region::GB])) {
            if let Ok(p) = PhoneNumber::parse(&s, region) {
                let again = PhoneNumber::parse(&p.to_string(), region).map_err(|e| TestCaseError::fail(format!("{p}: {e:?}")))?;
                prop_assert_eq!(&again, &p);
                prop_assert!(p.e164().starts_with('+') && p.e164()[1..].bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(split_country_code(&p.e164()[1..]), Some((p.country_code(), p.national_digits())));
            }
        }

        #[test]
        fn phoneish_input_never_panics(s in "[+]?[0-9０-９ ()\\-.x#转,;=a-z]{0,40}", region in prop::sample::select(vec![Region::CN, Region::US, Region::parse("IT").unwrap()])) {
            if let Ok(p) = PhoneNumber::parse(&s, region) {
                prop_assert_eq!(PhoneNumber::parse(&p.to_string(), region).ok(), Some(p));
            }
        }

        #[test]
        fn email_parse_never_panics_and_is_idempotent(s in "\\PC{0,80}|[a-zA-Z0-9._+\\-]{1,20}@[a-zA-Z0-9\\-]{1,20}\\.[a-zA-Z]{2,6}|.{0,80}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                let again = EmailAddress::parse(e.as_str()).map_err(|err| TestCaseError::fail(format!("{e}: {err:?}")))?;
                prop_assert_eq!(&again, &e);
                prop_assert_eq!(format!("{}@{}", e.local_part(), e.domain()), e.as_str());
            }
        }

        #[test]
        fn generated_emails_parse(local in "[a-z0-9]{1,10}([._+\\-][a-z0-9]{1,10}){0,2}", domain in "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\\.(com|cn|com\\.cn|中国)") {
            let addr = format!("{local}@{domain}");
            let e = EmailAddress::parse(&addr.to_uppercase()).map_err(|err| TestCaseError::fail(format!("{addr}: {err:?}")))?;
            prop_assert_eq!(e.as_str(), addr.as_str());
        }
    }
}
