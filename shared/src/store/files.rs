//! The local data directory (embedded store, pepper file): private to its owner whatever the
//! umask.

use std::path::Path;

/// Creates `dir` (and missing parents) with mode 0700 whatever the umask; a directory that
/// already exists is left as it is (it may be shared, e.g. `/tmp`).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        b.mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    b.create(dir)
}
