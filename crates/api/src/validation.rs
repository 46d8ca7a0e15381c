//! Rules a request body must satisfy. The server enforces them (422 with the
//! field named); clients run the same rules to show errors before sending.
//! Text is normalised first (`normalize_name`), on both sides, so that the
//! client judges exactly the text the server will store.

use unicode_normalization::UnicodeNormalization as _;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory as _};

use crate::tenants::{Labels, QuotasPatch};
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
/// Most labels one tenant may carry.
pub const LABELS_MAX: usize = 32;
pub const LABEL_KEY_MAX: usize = 63;
pub const LABEL_VALUE_MAX: usize = 63;

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

/// A colour as it is stored: trimmed, hex digits in lowercase, so that
/// `#0A7CFF` and `#0a7cff` are one colour.
pub fn normalize_color(color: &str) -> String {
    color.trim().to_ascii_lowercase()
}

/// An accent colour is `#rrggbb`: a hash and six lowercase hex digits.
pub fn check_color(field: &str, color: &str, errors: &mut Vec<FieldError>) {
    let digits = color.strip_prefix('#').unwrap_or_default();
    let valid = digits.len() == 6
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !valid {
        errors.push(FieldError::new(
            field,
            "must be a colour as `#rrggbb` (six hex digits, e.g. #0a7cff)",
        ));
    }
}

/// A label key, like a Kubernetes label key: 1 to 63 lowercase letters,
/// digits, `-`, `_`, `.` and `/`, starting with a letter or a digit.
pub fn check_label_key(field: &str, key: &str, errors: &mut Vec<FieldError>) {
    let mut problem = |message: String| errors.push(FieldError::new(field, message));
    let len = key.chars().count();
    if !(1..=LABEL_KEY_MAX).contains(&len) {
        problem(format!(
            "a label key must be 1 to {LABEL_KEY_MAX} characters long"
        ));
        if len == 0 {
            return;
        }
    }
    if !key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | '/'))
    {
        problem(
            "a label key may contain only lowercase letters, digits, `-`, `_`, `.` and `/`"
                .to_string(),
        );
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        problem("a label key must start with a lowercase letter or a digit".to_string());
    }
}

/// A label value: at most 63 characters (it may be empty), none of them a
/// control character or one that changes the text direction.
pub fn check_label_value(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    if value.chars().count() > LABEL_VALUE_MAX {
        errors.push(FieldError::new(
            field,
            format!("a label value must be at most {LABEL_VALUE_MAX} characters long"),
        ));
    }
    if value.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        errors.push(FieldError::new(
            field,
            "a label value must not contain control characters or ones that change the text direction",
        ));
    }
}

/// At most `LABELS_MAX` labels, each key and value valid. A bad key or
/// value is reported at `labels.<key>`; too many labels at `labels`.
pub fn check_labels(field: &str, labels: &Labels, errors: &mut Vec<FieldError>) {
    if labels.len() > LABELS_MAX {
        errors.push(FieldError::new(
            field,
            format!(
                "at most {LABELS_MAX} labels are allowed, got {}",
                labels.len()
            ),
        ));
    }
    for (key, value) in labels {
        let at = format!("{field}.{key}");
        check_label_key(&at, key, errors);
        check_label_value(&at, value, errors);
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
            accent_color: None,
            labels: None,
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn colours_are_six_hex_digits_after_a_hash_in_any_case() {
        for color in ["#0a7cff", "#000000", " #0A7CFF "] {
            let mut body = create("acme", "Acme");
            body.accent_color = Some(color.into());
            let body = body.normalized();
            assert!(body.field_errors().is_empty(), "{color:?}");
            assert_eq!(body.accent_color.as_deref().map(str::len), Some(7));
        }
        for color in [
            "0a7cff", "#0a7cf", "#0a7cfff", "#0a7cfg", "red", "", "#", "#0a 7cf",
        ] {
            let mut body = create("acme", "Acme");
            body.accent_color = Some(color.into());
            let errors = body.normalized().field_errors();
            assert_eq!(errors.len(), 1, "{color:?}: {errors:?}");
            assert_eq!(errors[0].field, "accent_color");
        }
    }

    #[test]
    fn label_keys_follow_the_kubernetes_alphabet() {
        let mut body = create("acme", "Acme");
        let (long_key, long_value) = ("k".repeat(LABEL_KEY_MAX), "v".repeat(LABEL_VALUE_MAX));
        body.labels = Some(labels(&[
            ("env", "prod"),
            ("team.io/owner", "a_b-c"),
            ("0-first", ""),
            (&long_key, &long_value),
        ]));
        assert!(body.field_errors().is_empty(), "{:?}", body.field_errors());
        for key in [
            "",
            "Env",
            "-env",
            "_env",
            "/env",
            "env key",
            "env=",
            "ümlaut",
            &"k".repeat(64),
        ] {
            body.labels = Some(labels(&[(key, "x")]));
            let errors = body.field_errors();
            assert!(!errors.is_empty(), "{key:?}");
            assert!(
                errors.iter().all(|e| e.field == format!("labels.{key}")),
                "{key:?}: {errors:?}"
            );
        }
    }

    #[test]
    fn label_values_are_short_printable_text() {
        let mut body = create("acme", "Acme");
        body.labels = Some(labels(&[("q", r#"it's "50%" _off_ \o/"#)]));
        assert!(body.field_errors().is_empty());
        for value in [
            "v".repeat(64),
            "a\nb".into(),
            "tab\there".into(),
            "\u{202E}gnp".into(),
        ] {
            body.labels = Some(labels(&[("k", &value)]));
            let errors = body.field_errors();
            assert_eq!(errors.len(), 1, "{value:?}: {errors:?}");
            assert_eq!(errors[0].field, "labels.k");
        }
    }

    #[test]
    fn more_than_32_labels_are_refused_at_the_labels_field() {
        let many: Labels = (0..=LABELS_MAX)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        let mut body = create("acme", "Acme");
        body.labels = Some(many.clone());
        let errors = body.field_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "labels");
        let mut most = many;
        most.pop_last();
        body.labels = Some(most);
        assert!(body.field_errors().is_empty());
    }

    #[test]
    fn an_update_may_clear_the_colour_and_set_labels_alone() {
        let clear: UpdateTenant = serde_json::from_str(r#"{"accent_color": null}"#).expect("json");
        assert_eq!(clear.accent_color, Some(None));
        assert!(clear.field_errors().is_empty());
        assert_eq!(
            serde_json::to_string(&clear).expect("json"),
            r#"{"accent_color":null}"#
        );
        let absent: UpdateTenant = serde_json::from_str(r#"{"labels": {}}"#).expect("json");
        assert_eq!(absent.accent_color, None);
        assert!(
            absent.field_errors().is_empty(),
            "an empty map removes them all"
        );
        let bad: UpdateTenant = serde_json::from_str(r##"{"accent_color": "#12"}"##).expect("json");
        assert_eq!(bad.field_errors()[0].field, "accent_color");
    }

    #[test]
    fn label_filters_are_a_key_or_a_key_and_a_literal_value() {
        use crate::tenants::LabelSelector;
        let has = LabelSelector::parse("env").expect("key");
        assert_eq!(has.value, None);
        let exact = LabelSelector::parse(r#"note=50% "off"=_\"#).expect("pair");
        assert_eq!(exact.key, "note");
        assert_eq!(exact.value.as_deref(), Some(r#"50% "off"=_\"#));
        assert_eq!(exact.to_string(), r#"note=50% "off"=_\"#);
        let empty = LabelSelector::parse("env=").expect("empty value");
        assert_eq!(empty.value.as_deref(), Some(""));
        for bad in [
            "",
            "=prod",
            "Env=prod",
            "e\"nv",
            &format!("k={}", "v".repeat(64)),
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad:?}");
        }
        let tenant_labels = labels(&[("env", "prod"), ("note", "50%")]);
        assert!(has.matches(&tenant_labels));
        assert!(LabelSelector::parse("env=prod")
            .expect("p")
            .matches(&tenant_labels));
        assert!(!LabelSelector::parse("env=pro")
            .expect("p")
            .matches(&tenant_labels));
        assert!(!LabelSelector::parse("note=50_")
            .expect("p")
            .matches(&tenant_labels));
        assert!(!LabelSelector::parse("team")
            .expect("p")
            .matches(&tenant_labels));
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
