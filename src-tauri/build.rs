//! Declares the app's own commands so that a window can call only those its
//! capability grants (capabilities/main.json). The list is read from the one
//! declaration of the commands, `app_commands!` in src/commands/mod.rs, so a
//! command is never registered in one place and forgotten in another.

fn main() {
    let source = "src/commands/mod.rs";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("src/commands/mod.rs is readable");
    let names = command_names(&text);
    assert!(
        !names.is_empty(),
        "no commands found in app_commands! of {source}"
    );
    // The manifest wants `'static` names; a build script ends right after.
    let names: Vec<&'static str> = names
        .into_iter()
        .map(|n| &*Box::leak(n.into_boxed_str()))
        .collect();
    let manifest = tauri_build::AppManifest::new().commands(Box::leak(names.into_boxed_slice()));
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration is valid");
}

include!("src/commands/names.rs");
