//! The playbook library: the built-in playbooks and the user's own, one
//! YAML file each in `<config dir>/playbooks/`. A user's playbook with the
//! id of a built-in one takes its place, and the library says so; a file
//! that does not lint is listed with its problems rather than hidden.

use std::path::{Path, PathBuf};

use opsdeck_playbook::{builtin_playbooks, Diagnostics, Playbook, Severity, MAX_FILE_BYTES};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths::Paths;

/// Where a playbook of the library comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Builtin,
    User,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Builtin => "built-in",
            Origin::User => "user",
        }
    }
}

/// One playbook of the library.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub origin: Origin,
    /// The file: `builtin:<name>.yaml`, or the user's file's path.
    pub file: String,
    pub suggested_by: Vec<String>,
    #[serde(skip)]
    pub playbook: Playbook,
}

/// Something about the library the user should know.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// A user's file takes the place of the built-in playbook with its id.
    Shadows { id: String, file: String },
    /// Two of the user's files have the same id; the first (by file name) is used.
    Duplicate {
        id: String,
        file: String,
        used: String,
    },
    /// A user's file that does not lint: not in the library.
    Invalid {
        file: String,
        diagnostics: Diagnostics,
    },
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Shadows { id, file } => {
                write!(f, "{file} replaces the built-in playbook `{id}`")
            }
            Note::Duplicate { id, file, used } => {
                write!(
                    f,
                    "{file} has the id `{id}` of {used}, which is used instead"
                )
            }
            Note::Invalid { file, diagnostics } => {
                write!(f, "{file} is left out, it does not lint:\n{diagnostics}")
            }
        }
    }
}

/// The library: every playbook by id, and what to know about it.
#[derive(Debug, Clone, Serialize)]
pub struct Library {
    /// The user's folder, which may not exist.
    pub dir: PathBuf,
    /// Sorted by id.
    pub entries: Vec<Entry>,
    pub notes: Vec<Note>,
}

impl Library {
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }
}

/// The user's playbook folder.
pub fn user_dir(paths: &Paths) -> PathBuf {
    paths.config_dir.join("playbooks")
}

/// Reads a playbook file, refusing one over the format's size cap before
/// reading it whole.
pub(crate) async fn read_file(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = tokio::fs::metadata(path).await.map_err(io)?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(Error::Playbook {
            diagnostics: too_big(path, meta.len()),
        });
    }
    let bytes = tokio::fs::read(path).await.map_err(io)?;
    String::from_utf8(bytes).map_err(|_| Error::Playbook {
        diagnostics: {
            let mut d = Diagnostics::new();
            d.push(
                &path.display().to_string(),
                Default::default(),
                "the file is not UTF-8 text",
            );
            d
        },
    })
}

fn too_big(path: &Path, len: u64) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.push(
        &path.display().to_string(),
        Default::default(),
        format!(
            "the file is {len} bytes; a playbook may be at most {} KiB",
            MAX_FILE_BYTES / 1024
        ),
    );
    d
}

/// The built-ins and the user's folder, read now.
pub async fn load(paths: &Paths) -> Result<Library> {
    let dir = user_dir(paths);
    let mut entries: Vec<Entry> = Vec::new();
    let mut notes = Vec::new();
    for read in builtin_playbooks() {
        // A built-in that does not lint is a bug the crate's tests catch; it
        // is shown rather than dropped without a word.
        match read {
            Ok(playbook) => entries.push(entry(playbook, Origin::Builtin)),
            Err(diagnostics) => {
                let file = diagnostics
                    .iter()
                    .next()
                    .map(|d| d.file.clone())
                    .unwrap_or_default();
                notes.push(Note::Invalid { file, diagnostics });
            }
        }
    }
    for path in user_files(&dir).await? {
        let file = path.display().to_string();
        let read = match read_file(&path).await {
            Ok(text) => opsdeck_playbook::parse(&file, &text),
            Err(Error::Playbook { diagnostics }) => Err(diagnostics),
            Err(e) => return Err(e),
        };
        let playbook = match read {
            Ok(p) => p,
            Err(diagnostics) => {
                notes.push(Note::Invalid { file, diagnostics });
                continue;
            }
        };
        match entries.iter().position(|e| e.id == playbook.id) {
            Some(i) if entries[i].origin == Origin::Builtin => {
                notes.push(Note::Shadows {
                    id: playbook.id.clone(),
                    file,
                });
                entries[i] = entry(playbook, Origin::User);
            }
            Some(i) => notes.push(Note::Duplicate {
                id: playbook.id.clone(),
                file,
                used: entries[i].file.clone(),
            }),
            None => entries.push(entry(playbook, Origin::User)),
        }
    }
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Library {
        dir,
        entries,
        notes,
    })
}

fn entry(playbook: Playbook, origin: Origin) -> Entry {
    Entry {
        id: playbook.id.clone(),
        title: playbook.title.clone(),
        severity: playbook.severity,
        origin,
        file: playbook.source.clone(),
        suggested_by: playbook.suggested_by.clone(),
        playbook,
    }
}

/// The `*.yaml` and `*.yml` files of the folder, by name; none when it does
/// not exist.
async fn user_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut read = match tokio::fs::read_dir(dir).await {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    while let Some(item) = read.next_entry().await.map_err(io)? {
        let path = item.path();
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && item.file_type().await.map_err(io)?.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
