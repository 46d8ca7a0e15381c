//! Rules a request body must satisfy. The server enforces them (422 with the
//! field named); clients run the same rules to show errors before sending.
//! Text is normalised first (`normalize_name`), on both sides, so that the
//! client judges exactly the text the server will store.

use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory as _};

use crate::tenants::QuotasPatch;
use crate::FieldError;

/// A request body that can name its invalid fields.
pub trait Validate {
    /// Every problem found, each with its field's JSON path; empty when valid.
    fn field_errors(&self) -> Vec<FieldError>;
}

pub const SLUG_MIN: usize = 3;
pub const SLUG_MAX: usize = 63;
pub const NAME_MAX: usize = 200;
pub const QUOTA_MAX: i64 = 10_000_000;

/// Whether a path segment names a tenant by id rather than by slug: ids are
/// UUIDs, in any of the forms a UUID parser reads.
pub fn is_tenant_id(segment: &str) -> bool {
    uuid::Uuid::parse_str(segment).is_ok()
}

/// Slugs look like DNS labels: they end up in hostnames and bucket names.
/// Every rule the slug breaks is reported, so that one correction fixes it.
pub fn check_slug(field: &str, slug: &str, errors: &mut Vec<FieldError>) {
    let len = slug.chars().count();
    let mut problem = |message: String| errors.push(FieldError::new(field, message));
    if !(SLUG_MIN..=SLUG_MAX).contains(&len) {
        problem(format!("must be {SLUG_MIN} to {SLUG_MAX} characters long"));
    }
    if len == 0 {
        return;
    }
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problem("may contain only lowercase letters, digits and hyphens".to_string());
    }
    if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        problem("must start with a lowercase letter".to_string());
    }
    if slug.ends_with('-') {
        problem("must not end with a hyphen".to_string());
    }
    if is_tenant_id(slug) {
        // A path segment shaped like a UUID is read as an id, so such a
        // tenant could never be found by its slug.
        problem("must not have the form of a UUID (it would be read as a tenant id)".to_string());
    }
}

/// A display name as it is stored: without leading and trailing white
/// space, in Unicode Normalization Form C (so that the same text typed two
/// ways is one name).
pub fn normalize_name(name: &str) -> String {
    name.trim().nfc().collect()
}

/// Text as a search compares it: NFC, lower-cased by Unicode's rules. The
/// server stores it beside each name and applies it to the searched text,
/// and a client filtering a list it holds does the same, so all agree.
pub fn search_text(text: &str) -> String {
    text.nfc()
        .collect::<String>()
        .to_lowercase()
        .nfc()
        .collect()
}

/// Marks that reorder the text around them: a name holding one can show
/// itself as another (`U+202E` turns "Acme\u{202E}gnp.exe" around).
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Whether the character shows something: a letter, digit, punctuation or
/// symbol, except the few of those that render as blank space.
pub fn is_visible(c: char) -> bool {
    let blank = matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
    );
    !blank
        && matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Letter
                | GeneralCategoryGroup::Number
                | GeneralCategoryGroup::Punctuation
                | GeneralCategoryGroup::Symbol
        )
}

/// Checks a name already passed through `normalize_name`, reporting every
/// rule it breaks.
pub fn check_name(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let mut problem = |message: String| errors.push(FieldError::new(field, message));
    if name.trim().is_empty() {
        problem("must not be empty".to_string());
        return;
    }
    if name.chars().count() > NAME_MAX {
        problem(format!("must be at most {NAME_MAX} characters long"));
    }
    if name.chars().any(char::is_control) {
        problem("must not contain control characters".to_string());
    }
    if name.chars().any(is_bidi_control) {
        problem("must not contain characters that change the text direction".to_string());
    }
    if !name.chars().any(is_visible) {
        problem("must contain at least one visible character".to_string());
    }
}

/// Every quota the patch names must be within 1 to `QUOTA_MAX`; each one
/// that is not is reported.
pub fn check_quotas(q: &QuotasPatch, errors: &mut Vec<FieldError>) {
    let fields = [
        ("quotas.max_users", q.max_users),
        ("quotas.storage_gib", q.storage_gib),
        ("quotas.requests_per_minute", q.requests_per_minute),
    ];
    for (field, value) in fields {
        if let Some(v) = value {
            if !(1..=QUOTA_MAX).contains(&v) {
                errors.push(FieldError::new(
                    field,
                    format!("must be between 1 and {QUOTA_MAX}, got {v}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::{CreateTenant, UpdateTenant};

    fn create(slug: &str, name: &str) -> CreateTenant {
        CreateTenant {
            slug: slug.into(),
            name: name.into(),
            plan: None,
            quotas: None,
        }
    }

    #[test]
    fn valid_slugs_pass() {
        for slug in ["acme", "a1b", "north-wind-42"] {
            assert!(create(slug, "Acme").field_errors().is_empty(), "{slug}");
        }
    }

    #[test]
    fn invalid_slugs_name_the_slug_field() {
        for slug in [
            "",
            "ab",
            "Acme",
            "1acme",
            "acme-",
            "ac_me",
            "ac me",
            &"a".repeat(64),
        ] {
            let errors = create(slug, "Acme").field_errors();
            assert!(!errors.is_empty(), "{slug:?}");
            assert!(errors.iter().all(|e| e.field == "slug"), "{errors:?}");
        }
    }

    #[test]
    fn a_slug_gets_every_rule_it_breaks_at_once() {
        let messages: Vec<String> = create("1Ac_me-", "Acme")
            .field_errors()
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert_eq!(
            messages,
            [
                "may contain only lowercase letters, digits and hyphens",
                "must start with a lowercase letter",
                "must not end with a hyphen",
            ]
        );
        // An empty slug is only too short: the other rules say nothing new.
        assert_eq!(create("", "Acme").field_errors().len(), 1);
    }

    #[test]
    fn every_invalid_field_is_reported_not_only_the_first() {
        let mut body = create("Not Valid", "   ");
        body.quotas = Some(QuotasPatch {
            max_users: Some(0),
            storage_gib: Some(-1),
            requests_per_minute: Some(10),
        });
        let fields: Vec<String> = body
            .normalized()
            .field_errors()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "slug",
                "slug",
                "name",
                "quotas.max_users",
                "quotas.storage_gib"
            ]
        );
        let update = UpdateTenant {
            name: Some("\u{202E}".into()),
            quotas: Some(QuotasPatch {
                requests_per_minute: Some(0),
                ..Default::default()
            }),
            ..Default::default()
        };
        let fields: Vec<String> = update.field_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "name", "quotas.requests_per_minute"]);
    }

    #[test]
    fn slugs_shaped_like_uuids_are_rejected() {
        for slug in [
            "a190f0e2-7c3b-7a6e-9b5d-1f2e3d4c5b6a",
            "abcdef0123456789abcdef0123456789",
        ] {
            let errors = create(slug, "Acme").field_errors();
            assert_eq!(errors.len(), 1, "{slug:?}: {errors:?}");
            assert_eq!(errors[0].field, "slug");
            assert!(errors[0].message.contains("UUID"), "{errors:?}");
        }
        // Almost a UUID is still a slug.
        assert!(create("a190f0e2-7c3b-7a6e-9b5d-1f2e3d4c5b6", "Acme")
            .field_errors()
            .is_empty());
    }

    #[test]
    fn names_without_a_visible_character_are_rejected() {
        for name in [
            "\u{200B}\u{200B}",
            "\u{2060}",
            "\u{3164}",
            "\u{00A0}\u{3000}",
            "\u{FEFF} \u{200D}",
            "\u{0301}",
        ] {
            let errors = create("acme", name).normalized().field_errors();
            assert_eq!(errors.len(), 1, "{name:?}: {errors:?}");
            assert_eq!(errors[0].field, "name", "{name:?}");
        }
        assert!(create("acme", "\u{4E2D}\u{6587}").field_errors().is_empty());
        assert!(create("acme", "\u{1F680}").field_errors().is_empty());
    }

    #[test]
    fn names_with_direction_controls_are_rejected() {
        for c in [
            '\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let errors = create("acme", &format!("Acme{c}exe"))
                .normalized()
                .field_errors();
            assert_eq!(errors.len(), 1, "{c:?}: {errors:?}");
            assert!(errors[0].message.contains("direction"), "{errors:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_composed() {
        let body = create("acme", "  A\u{0308}cme Corp\t ").normalized();
        assert_eq!(body.name, "\u{00C4}cme Corp");
        let update = UpdateTenant {
            name: Some(" Acme ".into()),
            ..Default::default()
        }
        .normalized();
        assert_eq!(update.name.as_deref(), Some("Acme"));
    }

    #[test]
    fn search_text_is_composed_and_lower_case() {
        assert_eq!(search_text("A\u{0308}CME"), "\u{00E4}cme");
        assert_eq!(search_text("\u{00C4}CME"), "\u{00E4}cme");
        assert_eq!(search_text("\u{1E9E}"), "\u{00DF}");
    }

    #[test]
    fn blank_name_is_rejected() {
        let errors = create("acme", "   ").field_errors();
        assert_eq!(errors, vec![FieldError::new("name", "must not be empty")]);
    }

    #[test]
    fn out_of_range_quotas_name_each_field() {
        let mut body = create("acme", "Acme");
        body.quotas = Some(QuotasPatch {
            max_users: Some(0),
            storage_gib: Some(5),
            requests_per_minute: Some(QUOTA_MAX + 1),
        });
        let fields: Vec<_> = body.field_errors().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["quotas.max_users", "quotas.requests_per_minute"]);
    }

    #[test]
    fn empty_update_is_rejected() {
        assert_eq!(UpdateTenant::default().field_errors().len(), 1);
        let update = UpdateTenant {
            name: Some("New".into()),
            ..Default::default()
        };
        assert!(update.field_errors().is_empty());
    }

    #[test]
    fn create_fills_quotas_from_plan_field_by_field() {
        let mut body = create("acme", "Acme");
        body.plan = Some(crate::tenants::Plan::Free);
        body.quotas = Some(QuotasPatch {
            max_users: Some(7),
            ..Default::default()
        });
        let q = body.quotas();
        assert_eq!(q.max_users, 7);
        assert_eq!(
            q.storage_gib,
            crate::tenants::Plan::Free.default_quotas().storage_gib
        );
    }
}
