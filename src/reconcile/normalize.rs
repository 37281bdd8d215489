//! Normalization applied to both sides before comparing, so values the server rewrites or
//! defaults never cause a perpetual diff.

use url::Url;

/// Stytch's default NameID format.
pub const DEFAULT_NAMEID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// URLs compare by parsed form (lowercase scheme and host, default port dropped) without
/// trailing slashes; strings that are not URLs compare trimmed.
pub fn url(value: &str) -> String {
    let trimmed = value.trim();
    match Url::parse(trimmed) {
        Ok(parsed) => parsed.as_str().trim_end_matches('/').to_owned(),
        Err(_) => trimmed.trim_end_matches('/').to_owned(),
    }
}

/// An empty NameID format means Stytch's default.
pub fn nameid_format(value: &str) -> &str {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        DEFAULT_NAMEID_FORMAT
    } else {
        trimmed
    }
}

/// Identity provider names compare case-insensitively and without hyphens (the Java SDK
/// sends `googleworkspace` for `google-workspace`).
pub fn identity_provider(value: &str) -> String {
    value
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_ignore_trailing_slashes_and_host_case() {
        assert_eq!(
            url("https://IdP.example.com/sso/"),
            url("https://idp.example.com/sso")
        );
        assert_eq!(
            url("https://idp.example.com:443/"),
            url("https://idp.example.com")
        );
        assert_ne!(
            url("https://idp.example.com/a"),
            url("https://idp.example.com/b")
        );
        assert_eq!(url(" not a url/ "), "not a url");
    }

    #[test]
    fn empty_nameid_format_is_the_default() {
        assert_eq!(nameid_format(""), DEFAULT_NAMEID_FORMAT);
        assert_eq!(nameid_format("urn:x"), "urn:x");
    }

    #[test]
    fn identity_provider_spelling_variants_match() {
        assert_eq!(
            identity_provider("google-workspace"),
            identity_provider("googleworkspace")
        );
        assert_eq!(identity_provider("Okta"), "okta");
    }
}
