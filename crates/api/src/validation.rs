//! Rules a request body must satisfy. The server enforces them (422 with the
//! field named); clients run the same rules to show errors before sending.

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

/// Slugs look like DNS labels: they end up in hostnames and bucket names.
pub fn check_slug(field: &str, slug: &str, errors: &mut Vec<FieldError>) {
    let len = slug.chars().count();
    let message = if !(SLUG_MIN..=SLUG_MAX).contains(&len) {
        Some(format!("must be {SLUG_MIN} to {SLUG_MAX} characters long"))
    } else if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some("may contain only lowercase letters, digits and hyphens".to_string())
    } else if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("must start with a lowercase letter".to_string())
    } else if slug.ends_with('-') {
        Some("must not end with a hyphen".to_string())
    } else {
        None
    };
    if let Some(message) = message {
        errors.push(FieldError::new(field, message));
    }
}

pub fn check_name(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    if name.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if name.chars().count() > NAME_MAX {
        errors.push(FieldError::new(
            field,
            format!("must be at most {NAME_MAX} characters long"),
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
}

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
            assert_eq!(errors.len(), 1, "{slug:?}: {errors:?}");
            assert_eq!(errors[0].field, "slug");
        }
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
