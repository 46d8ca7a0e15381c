//! Declares the app's own commands so that a window can call only those its
//! capability grants (capabilities/main.json).

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "profiles_list",
        "profile_add",
        "profile_use",
        "profile_remove",
        "tenants_list",
        "tenant_create",
        "tenant_update",
        "tenant_update_preflight",
        "tenant_preflight",
        "tenant_action",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .expect("tauri build configuration is valid");
}
