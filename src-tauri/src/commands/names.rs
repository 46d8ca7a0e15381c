// Shared by build.rs and the tests (included, not a module): the names of the
// commands declared in `app_commands! { module::command, ... }`.

/// The command names listed in the `app_commands!` invocation of `source`.
pub fn command_names(source: &str) -> Vec<String> {
    // The invocation starts a line; mentions in comments do not.
    let Some(start) = source.find("\napp_commands! {") else {
        return Vec::new();
    };
    let body = &source[start + "\napp_commands! {".len()..];
    let body = &body[..body.find('}').unwrap_or(body.len())];
    body.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty() && !entry.starts_with("//"))
        .filter_map(|entry| entry.rsplit("::").next())
        .map(str::to_string)
        .collect()
}
