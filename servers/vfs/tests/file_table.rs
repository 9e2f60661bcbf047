//! Per-client file tables: lowest-free allocation, `dup`/`dup2`/`dup3`/
//! `F_DUPFD` sharing one open file (and its offset), close-on-exec, `fork`
//! sharing open files between parent and child, `exit` closing all,
//! `RLIMIT_NOFILE` → `EMFILE`, the server-wide limit → `ENFILE`, and the
//! `fcntl` flag commands.

mod common;
use common::*;
use vfs::types::*;
use vfs::{Errno, Limits};

const CHILD: u64 = 10;

fn setup() -> vfs::Vfs {
    let mut v = vfs();
    write_file(&mut v, ROOT, "/f", b"0123456789");
    v
}

#[test]
fn lowest_free_descriptor() {
    let mut v = setup();
    let a = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let b = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let c = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    assert_eq!((a, b, c), (0, 1, 2));
    v.close(ROOT, b).unwrap();
    assert_eq!(v.close(ROOT, b), Err(Errno::EBADF));
    assert_eq!(v.open(ROOT, b"/f", O_RDONLY, 0).unwrap(), 1);
    assert_eq!(v.close(ROOT, -1), Err(Errno::EBADF));
    assert_eq!(v.close(ROOT, 1 << 30), Err(Errno::EBADF));
}

#[test]
fn dup_shares_the_offset() {
    let mut v = setup();
    let fd = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let d = v.dup(ROOT, fd).unwrap();
    assert_eq!(d, 1);
    let mut buf = [0u8; 3];
    v.read(ROOT, fd, &mut buf).unwrap();
    v.read(ROOT, d, &mut buf).unwrap();
    assert_eq!(&buf, b"345");
    v.close(ROOT, fd).unwrap();
    v.read(ROOT, d, &mut buf).unwrap();
    assert_eq!(&buf, b"678");
    // A separate open has its own offset.
    let other = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    v.read(ROOT, other, &mut buf).unwrap();
    assert_eq!(&buf, b"012");
    assert_eq!(v.dup(ROOT, 55), Err(Errno::EBADF));
}

#[test]
fn dup2_and_dup3() {
    let mut v = setup();
    let fd = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let other = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let files = v.nr_files();
    assert_eq!(v.dup2(ROOT, fd, other).unwrap(), other);
    assert_eq!(v.nr_files(), files - 1, "what `other` named was closed");
    assert_eq!(v.dup2(ROOT, fd, fd).unwrap(), fd);
    assert_eq!(v.dup2(ROOT, 9, 9), Err(Errno::EBADF));
    assert_eq!(v.dup2(ROOT, fd, 100).unwrap(), 100);
    assert_eq!(v.dup2(ROOT, fd, -1), Err(Errno::EBADF));
    assert_eq!(
        v.dup2(ROOT, fd, 1024),
        Err(Errno::EBADF),
        "at RLIMIT_NOFILE"
    );
    assert_eq!(v.dup2(ROOT, 77, 5), Err(Errno::EBADF));
    assert_eq!(v.dup3(ROOT, fd, fd, 0), Err(Errno::EINVAL));
    assert_eq!(v.dup3(ROOT, fd, 7, O_NONBLOCK), Err(Errno::EINVAL));
    assert_eq!(v.dup3(ROOT, fd, 7, O_CLOEXEC).unwrap(), 7);
    assert_eq!(v.fcntl(ROOT, 7, F_GETFD, 0).unwrap(), FD_CLOEXEC as u64);
    assert_eq!(
        v.fcntl(ROOT, 100, F_GETFD, 0).unwrap(),
        0,
        "dup2 clears close-on-exec"
    );
}

#[test]
fn fcntl_commands() {
    let mut v = setup();
    let fd = v.open(ROOT, b"/f", O_RDWR | O_CLOEXEC, 0).unwrap();
    assert_eq!(v.fcntl(ROOT, fd, F_GETFD, 0).unwrap(), 1);
    v.fcntl(ROOT, fd, F_SETFD, 0).unwrap();
    assert_eq!(v.fcntl(ROOT, fd, F_GETFD, 0).unwrap(), 0);
    assert_eq!(
        v.fcntl(ROOT, fd, F_GETFL, 0).unwrap(),
        (O_RDWR | O_LARGEFILE) as u64
    );
    // F_SETFL changes only the status flags it may.
    v.fcntl(
        ROOT,
        fd,
        F_SETFL,
        (O_APPEND | O_NONBLOCK | O_WRONLY | O_CREAT) as u64,
    )
    .unwrap();
    assert_eq!(
        v.fcntl(ROOT, fd, F_GETFL, 0).unwrap(),
        (O_RDWR | O_LARGEFILE | O_APPEND | O_NONBLOCK) as u64
    );
    v.write(ROOT, fd, b"!").unwrap();
    assert_eq!(read_file(&mut v, ROOT, "/f").unwrap(), b"0123456789!");
    assert_eq!(v.fcntl(ROOT, fd, F_DUPFD, 10).unwrap(), 10);
    assert_eq!(v.fcntl(ROOT, fd, F_DUPFD, 10).unwrap(), 11);
    assert_eq!(v.fcntl(ROOT, fd, F_DUPFD_CLOEXEC, 0).unwrap(), 1);
    assert_eq!(v.fcntl(ROOT, 1, F_GETFD, 0).unwrap(), 1);
    assert_eq!(v.fcntl(ROOT, fd, F_DUPFD, 1024), Err(Errno::EINVAL));
    assert_eq!(v.fcntl(ROOT, fd, 9999, 0), Err(Errno::EINVAL));
    assert_eq!(v.fcntl(ROOT, 50, F_GETFL, 0), Err(Errno::EBADF));
    // The status flags belong to the open file, shared by duplicates.
    assert_ne!(v.fcntl(ROOT, 10, F_GETFL, 0).unwrap() & O_APPEND as u64, 0);
}

#[test]
fn exec_closes_cloexec_descriptors() {
    let mut v = setup();
    let keep = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    let drop = v.open(ROOT, b"/f", O_RDONLY | O_CLOEXEC, 0).unwrap();
    let (r, w) = v.pipe2(ROOT, O_CLOEXEC).unwrap();
    v.exec(ROOT).unwrap();
    assert!(v.fstat(ROOT, keep).is_ok());
    for fd in [drop, r, w] {
        assert_eq!(v.fstat(ROOT, fd), Err(Errno::EBADF));
    }
}

#[test]
fn fork_shares_open_files_and_offsets() {
    let mut v = setup();
    let fd = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    v.chdir(ROOT, b"/").unwrap();
    v.umask(ROOT, 0o077).unwrap();
    v.fork(ROOT, CHILD).unwrap();
    assert_eq!(v.fork(ROOT, CHILD), Err(Errno::EEXIST));
    let mut buf = [0u8; 4];
    v.read(CHILD, fd, &mut buf).unwrap();
    assert_eq!(&buf, b"0123");
    v.read(ROOT, fd, &mut buf).unwrap();
    assert_eq!(&buf, b"4567", "the child's read moved the parent's offset");
    assert_eq!(v.umask(CHILD, 0).unwrap(), 0o077);
    // Closing in the child leaves the parent's descriptor open.
    v.close(CHILD, fd).unwrap();
    assert!(v.fstat(ROOT, fd).is_ok());
    let files = v.nr_files();
    let own = v.open(CHILD, b"/f", O_RDONLY, 0).unwrap();
    assert_eq!(v.nr_files(), files + 1);
    v.exit(CHILD).unwrap();
    assert_eq!(v.nr_files(), files, "exit closed the child's files");
    assert_eq!(v.fstat(CHILD, own), Err(Errno::ESRCH));
    assert_eq!(v.exit(CHILD), Err(Errno::ESRCH));
}

#[test]
fn fork_keeps_the_working_directory() {
    let mut v = setup();
    mkdir(&mut v, ROOT, "/w", 0o755);
    v.chdir(ROOT, b"/w").unwrap();
    v.fork(ROOT, CHILD).unwrap();
    assert_eq!(v.getcwd(CHILD, 100).unwrap(), b"/w");
    v.chdir(CHILD, b"/").unwrap();
    assert_eq!(v.getcwd(ROOT, 100).unwrap(), b"/w");
}

#[test]
fn rlimit_nofile_is_emfile() {
    let mut v = setup();
    v.set_nofile(USER, 3).unwrap();
    for _ in 0..3 {
        v.open(USER, b"/f", O_RDONLY, 0).unwrap();
    }
    assert_eq!(v.open(USER, b"/f", O_RDONLY, 0), Err(Errno::EMFILE));
    assert_eq!(
        v.open(USER, b"/none", O_RDONLY, 0),
        Err(Errno::EMFILE),
        "EMFILE before the walk"
    );
    assert_eq!(v.dup(USER, 0), Err(Errno::EMFILE));
    assert_eq!(v.pipe2(USER, 0), Err(Errno::EMFILE));
    assert_eq!(v.fcntl(USER, 0, F_DUPFD, 0), Err(Errno::EMFILE));
    v.close(USER, 1).unwrap();
    assert_eq!(v.pipe2(USER, 0), Err(Errno::EMFILE), "a pipe needs two");
    assert_eq!(v.dup(USER, 0).unwrap(), 1);
    assert_eq!(v.set_nofile(USER, usize::MAX), Err(Errno::EINVAL));
}

#[test]
fn server_wide_limit_is_enfile() {
    let limits = Limits {
        file_max: 4,
        ..Limits::default()
    };
    let mut v = vfs_with(64, limits);
    write_file(&mut v, ROOT, "/f", b"");
    for _ in 0..4 {
        v.open(USER, b"/f", O_RDONLY, 0).unwrap();
    }
    assert_eq!(v.open(ROOT, b"/f", O_RDONLY, 0), Err(Errno::ENFILE));
    assert_eq!(v.pipe2(ROOT, 0), Err(Errno::ENFILE));
    // dup shares an open file: no new one is needed.
    assert!(v.dup(USER, 0).is_ok());
    v.close(USER, 0).unwrap();
    v.close(USER, 4).unwrap();
    assert!(v.open(ROOT, b"/f", O_RDONLY, 0).is_ok());
}

#[test]
fn clients_are_bounded_and_known() {
    let limits = Limits {
        clients: 3,
        ..Limits::default()
    };
    let mut v = vfs_with(64, limits);
    assert_eq!(v.fork(ROOT, CHILD), Err(Errno::EAGAIN));
    assert_eq!(
        v.new_client(CHILD, vfs::types::Cred::root()),
        Err(Errno::EAGAIN)
    );
    assert_eq!(v.open(99, b"/", O_RDONLY, 0), Err(Errno::ESRCH));
    let mut buf = [0u8; 1];
    assert_eq!(v.read(99, 0, &mut buf), Err(Errno::ESRCH));
}
