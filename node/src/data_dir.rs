//! The node's data dir and the secrets in it (the identity key, the TURN secret, the page's TLS key and its token):
//! one place that decides how they are created, written and trusted.
//!
//! - The dir is created mode 0700; an existing one of ours is narrowed to 0700 (a dir the node does not own fails
//!   that and is refused).
//! - A file is written to a fresh temporary file beside it (0600), fsynced, renamed over the old one, and the dir
//!   fsynced: a crash leaves the old file or the new one, never half of one.
//! - At load, a symlink is refused (whoever can plant one could make the node read or overwrite another file), and
//!   so is a secret that others may read or write: it may have been read, or planted, already.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

/// What a file holds, and so what is checked when it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only the owner may read it: refused if group or others have any permission on it.
    Secret,
    /// Anyone may read it (a certificate): only a symlink or a non-file is refused.
    Public,
}

/// Creates `dir` (and its parents) if needed and makes it reachable by its owner only.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating data dir {}", dir.display()))?;
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("data dir {} is not a directory", dir.display());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(
                || {
                    format!(
                        "data dir {} is open to other users (mode {:o}) and could not be narrowed to 0700; \
                         is it someone else's?",
                        dir.display(),
                        meta.permissions().mode() & 0o777
                    )
                },
            )?;
            tracing::info!(dir = %dir.display(), "narrowed the data dir to mode 0700");
        }
    }
    Ok(())
}

/// Reads `path`, or `None` if there is no such file. Refuses symlinks, non-files, and secrets others can reach.
pub fn read(path: &Path, kind: Kind) -> anyhow::Result<Option<Vec<u8>>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    if meta.file_type().is_symlink() {
        bail!(
            "{} is a symbolic link; the node reads its files only from the data dir itself \
             (replace the link with the file)",
            path.display()
        );
    }
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    #[cfg(unix)]
    if kind == Kind::Secret {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} is a secret but others may access it (mode {mode:o}); it may have been read or replaced. \
                 Delete it to make a new one, or `chmod 600` it if you are sure it is yours",
                path.display()
            );
        }
    }
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    // A symlink swapped in between the check above and the open leads to another file: refuse what is not the file
    // that was checked (portable where a hard-coded O_NOFOLLOW value is not: it differs between architectures).
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let opened = file
            .metadata()
            .with_context(|| format!("reading {}", path.display()))?;
        if (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
            bail!(
                "{} changed while it was being read; try again",
                path.display()
            );
        }
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(bytes))
}

/// Replaces `path` with `contents` atomically: a 0600 temporary file in the same dir, fsynced, renamed over
/// `path`, then the dir fsynced. A symlink at `path` is replaced, never followed.
pub fn write(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent dir", path.display()))?;
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temp.write_all(contents)
        .and_then(|()| temp.as_file().sync_all())
        .with_context(|| format!("writing {}", temp.path().display()))?;
    temp.persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn the_dir_is_created_and_narrowed_to_its_owner() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn written_files_are_private_and_replace_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write(&path, b"first").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read(&path, Kind::Secret).unwrap().unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
        assert_eq!(
            read(&dir.path().join("absent"), Kind::Secret).unwrap(),
            None
        );
    }

    #[test]
    fn symlinks_and_secrets_open_to_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"x").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read(&link, Kind::Public).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");

        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read(&target, Kind::Secret).unwrap_err().to_string();
        assert!(err.contains("mode 644"), "{err}");
        assert_eq!(read(&target, Kind::Public).unwrap().unwrap(), b"x");

        // Writing over a symlink replaces the link and leaves its target alone.
        write(&link, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
