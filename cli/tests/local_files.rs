//! Local data at rest: `timether serve` and `timether admin` make a new data directory 0700
//! and the database files and pepper 0600 even under umask 000, tighten database files left
//! readable by others, and refuse a pepper file that group or others can read.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A fresh, not yet existing data directory (its parent exists).
fn fresh_dir() -> PathBuf {
    let parent = std::env::temp_dir().join(format!("timether-files-{}", shared::domain::ids::random_base62(12)));
    std::fs::create_dir_all(&parent).unwrap();
    parent.join("data")
}

/// `timether <args> --data <dir>` run through `sh` with umask 000.
fn under_umask_000(args: &[&str], dir: &Path) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg("umask 000; exec \"$0\" \"$@\"").arg(common::bin()).args(args).arg("--data").arg(dir);
    c.env_remove("TIMETHER_PEPPER").env_remove("TIMETHER_PEPPER_SECRET_ID").env_remove("TIMETHER_PEPPER_PREVIOUS");
    c
}

fn admin(dir: &Path) -> Output {
    let email = format!("{}@example.com", shared::domain::ids::random_base62(10).to_lowercase());
    under_umask_000(&["admin", "create-user", "--email", &email, "--name", "Files"], dir).output().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

/// Starts `timether serve` under umask 000 and waits for its listening line.
fn serve(dir: &Path) -> Child {
    let mut child = under_umask_000(&["serve", "--addr", "127.0.0.1:0"], dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on"), "server did not start: {line:?}");
    child
}

#[test]
fn a_fresh_data_dir_is_private_under_umask_000() {
    let dir = fresh_dir();
    let mut server = serve(&dir);
    let out = admin(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&dir), 0o700, "data directory");
    // The server holds the database open in WAL mode: all three files exist now.
    for f in ["timether.db", "timether.db-wal", "timether.db-shm", "pepper"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn admin_alone_creates_private_files_and_tightens_old_ones() {
    let dir = fresh_dir();
    let out = admin(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(mode(&dir), 0o700, "data directory");
    assert_eq!(mode(&dir.join("timether.db")), 0o600);
    assert_eq!(mode(&dir.join("pepper")), 0o600);
    // A database file left readable by others (an older version, a copy) is tightened.
    chmod(&dir.join("timether.db"), 0o644);
    assert!(admin(&dir).status.success());
    assert_eq!(mode(&dir.join("timether.db")), 0o600);
}

#[test]
fn a_pepper_file_readable_by_others_is_refused() {
    let dir = fresh_dir();
    assert!(admin(&dir).status.success());
    let pepper = dir.join("pepper");
    for m in [0o644, 0o640, 0o666, 0o604] {
        chmod(&pepper, m);
        let out = admin(&dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "mode {m:o} accepted");
        assert!(err.contains(&pepper.display().to_string()), "names the file: {err}");
        assert!(err.contains(&format!("chmod 600 {}", pepper.display())), "names the fix: {err}");
        assert!(out.stdout.is_empty(), "nothing done: {}", String::from_utf8_lossy(&out.stdout));
    }
    let out = under_umask_000(&["serve", "--addr", "127.0.0.1:0"], &dir).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    chmod(&pepper, 0o600);
    assert!(admin(&dir).status.success(), "the fix works");
    chmod(&pepper, 0o400);
    assert!(admin(&dir).status.success(), "read-only for the owner is fine");
}
