//! FIFOs: `mknod(S_IFIFO)` on tmpfs, POSIX's blocking opens (a reader
//! waits for a writer and the other way round, both get through when
//! they wait for each other), `O_NONBLOCK` (a reader opens at once, a
//! writer without a reader gets `ENXIO`), `O_RDWR`, data through the
//! ring, end of file and `EPIPE`, an interrupted open letting go of its
//! side, `fstat` naming the inode, and the ring dropped with its last
//! end.

mod common;
use common::*;
use libsys::abi::grant::Window;
use libsys::abi::SysError;
use libsys::grant::GrantAccess;
use libsys::proto::vfs::{path, Request};
use vfs::fifo::OpenIo;
use vfs::service::{Outcome, Service};
use vfs::types::*;
use vfs::{Errno, Io, Vfs};

const WRITER: u64 = 20;

fn with_fifo() -> Vfs {
    let mut v = vfs();
    v.new_client(WRITER, Cred::root()).unwrap();
    v.mknodat(ROOT, AT_FDCWD, b"/f", S_IFIFO | 0o666, 0)
        .unwrap();
    v
}

fn open_io(v: &mut Vfs, c: u64, flags: u32) -> Result<OpenIo, Errno> {
    v.openat_io(c, AT_FDCWD, b"/f", flags, 0)
}

fn opened(r: Result<OpenIo, Errno>) -> i32 {
    match r {
        Ok(OpenIo::Opened(fd)) => fd,
        other => panic!("expected an open descriptor, got {other:?}"),
    }
}

#[test]
fn mknod_makes_a_fifo_and_stat_says_so() {
    let mut v = with_fifo();
    let st = v.stat(ROOT, b"/f").unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFIFO);
    assert_eq!(st.st_mode & 0o777, 0o644, "the umask applies");
    assert_eq!(
        v.mknodat(ROOT, AT_FDCWD, b"/f", S_IFIFO | 0o600, 0),
        Err(Errno::EEXIST)
    );
    // Anyone may make a FIFO (no device: no EPERM).
    v.mknodat(USER, AT_FDCWD, b"/tmpf", S_IFIFO | 0o600, 0)
        .unwrap_err();
    v.mkdir(ROOT, b"/u", 0o777).unwrap();
    v.chmod(ROOT, b"/u", 0o777).unwrap();
    v.mknodat(USER, AT_FDCWD, b"/u/mine", S_IFIFO | 0o600, 0)
        .unwrap();
}

#[test]
fn reader_waits_for_writer_then_data_flows() {
    let mut v = with_fifo();
    assert_eq!(open_io(&mut v, ROOT, O_RDONLY), Ok(OpenIo::Blocked));
    assert!(v.take_wakeups().is_empty(), "nobody opened the other side");
    // The retry before a writer still waits.
    assert_eq!(open_io(&mut v, ROOT, O_RDONLY), Ok(OpenIo::Blocked));
    let wfd = opened(open_io(&mut v, WRITER, O_WRONLY));
    assert_eq!(v.take_wakeups(), vec![ROOT]);
    let rfd = opened(open_io(&mut v, ROOT, O_RDONLY));
    assert_eq!(v.write(WRITER, wfd, b"hello").unwrap(), Io::Done(5));
    let mut buf = [0u8; 16];
    assert_eq!(v.read(ROOT, rfd, &mut buf).unwrap(), Io::Done(5));
    assert_eq!(&buf[..5], b"hello");
    // Empty with a writer: the reader waits.
    assert_eq!(v.read(ROOT, rfd, &mut buf).unwrap(), Io::Blocked(0));
    v.close(WRITER, wfd).unwrap();
    assert_eq!(v.read(ROOT, rfd, &mut buf).unwrap(), Io::Done(0), "EOF");
    v.close(ROOT, rfd).unwrap();
}

#[test]
fn writer_waits_for_reader() {
    let mut v = with_fifo();
    assert_eq!(open_io(&mut v, WRITER, O_WRONLY), Ok(OpenIo::Blocked));
    let rfd = opened(open_io(&mut v, ROOT, O_RDONLY));
    assert_eq!(v.take_wakeups(), vec![WRITER]);
    let wfd = opened(open_io(&mut v, WRITER, O_WRONLY));
    assert_eq!(v.write(WRITER, wfd, b"x").unwrap(), Io::Done(1));
    v.close(ROOT, rfd).unwrap();
    assert_eq!(v.write(WRITER, wfd, b"x"), Err(Errno::EPIPE));
}

#[test]
fn a_writer_that_came_and_went_still_lets_the_reader_through() {
    let mut v = with_fifo();
    assert_eq!(open_io(&mut v, ROOT, O_RDONLY), Ok(OpenIo::Blocked));
    // A writer opens with O_NONBLOCK (a reader is counted), writes,
    // closes, all before the reader's retry.
    let wfd = opened(open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK));
    assert_eq!(v.write(WRITER, wfd, b"bye").unwrap(), Io::Done(3));
    v.close(WRITER, wfd).unwrap();
    let rfd = opened(open_io(&mut v, ROOT, O_RDONLY));
    let mut buf = [0u8; 8];
    assert_eq!(v.read(ROOT, rfd, &mut buf).unwrap(), Io::Done(3));
    assert_eq!(v.read(ROOT, rfd, &mut buf).unwrap(), Io::Done(0));
}

#[test]
fn nonblocking_opens() {
    let mut v = with_fifo();
    assert_eq!(
        open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO)
    );
    let rfd = opened(open_io(&mut v, ROOT, O_RDONLY | O_NONBLOCK));
    let mut buf = [0u8; 4];
    // No writer ever: end of file, not EAGAIN (Linux).
    assert_eq!(v.read(ROOT, rfd, &mut buf).unwrap(), Io::Done(0));
    let wfd = opened(open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK));
    assert_eq!(v.read(ROOT, rfd, &mut buf), Err(Errno::EAGAIN));
    v.close(WRITER, wfd).unwrap();
    v.close(ROOT, rfd).unwrap();
    // The plain openat cannot wait: EAGAIN, and nothing is left counted.
    assert_eq!(v.open(ROOT, b"/f", O_RDONLY, 0), Err(Errno::EAGAIN));
    assert_eq!(
        open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO)
    );
}

#[test]
fn rdwr_opens_at_once_and_reads_its_own_writes() {
    let mut v = with_fifo();
    let fd = opened(open_io(&mut v, ROOT, O_RDWR));
    assert_eq!(v.write(ROOT, fd, b"loop").unwrap(), Io::Done(4));
    let mut buf = [0u8; 8];
    assert_eq!(v.read(ROOT, fd, &mut buf).unwrap(), Io::Done(4));
    // It counts as a reader: a non-blocking writer gets in.
    let wfd = opened(open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK));
    v.close(WRITER, wfd).unwrap();
    v.close(ROOT, fd).unwrap();
    assert_eq!(
        open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO),
        "the last end closed: nobody reads"
    );
}

#[test]
fn an_interrupted_open_lets_its_side_go() {
    let mut v = with_fifo();
    assert_eq!(open_io(&mut v, ROOT, O_RDONLY), Ok(OpenIo::Blocked));
    // While it waits it counts as a reader.
    let wfd = opened(open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK));
    v.close(WRITER, wfd).unwrap();
    v.cancel_wait(ROOT);
    assert_eq!(
        open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO)
    );
    // A client that exits while waiting too.
    assert_eq!(open_io(&mut v, USER, O_RDONLY), Ok(OpenIo::Blocked));
    v.exit(USER).unwrap();
    assert_eq!(
        open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO)
    );
}

#[test]
fn a_waiting_open_whose_fifo_was_removed_fails_and_forgets() {
    let mut v = with_fifo();
    assert_eq!(open_io(&mut v, ROOT, O_RDONLY), Ok(OpenIo::Blocked));
    v.unlink(ROOT, b"/f").unwrap();
    assert_eq!(open_io(&mut v, ROOT, O_RDONLY), Err(Errno::ENOENT));
    // A new FIFO of the same name starts empty of openers.
    v.mknodat(ROOT, AT_FDCWD, b"/f", S_IFIFO | 0o666, 0)
        .unwrap();
    assert_eq!(
        open_io(&mut v, WRITER, O_WRONLY | O_NONBLOCK),
        Err(Errno::ENXIO)
    );
}

#[test]
fn fstat_names_the_inode_and_data_goes_with_the_last_end() {
    let mut v = with_fifo();
    let ino = v.stat(ROOT, b"/f").unwrap().st_ino;
    let fd = opened(open_io(&mut v, ROOT, O_RDWR));
    let st = v.fstat(ROOT, fd).unwrap();
    assert_eq!((st.st_ino, st.st_mode & S_IFMT), (ino, S_IFIFO));
    assert_eq!(v.lseek(ROOT, fd, 0, SEEK_SET), Err(Errno::ESPIPE));
    v.write(ROOT, fd, b"lost").unwrap();
    v.close(ROOT, fd).unwrap();
    let fd = opened(open_io(&mut v, ROOT, O_RDWR | O_NONBLOCK));
    let mut buf = [0u8; 8];
    assert_eq!(v.read(ROOT, fd, &mut buf), Err(Errno::EAGAIN), "emptied");
    v.close(ROOT, fd).unwrap();
    // The inode survives its opens and can be removed.
    v.unlink(ROOT, b"/f").unwrap();
}

/// No window: opens need none.
struct NoGrant;

impl GrantAccess for NoGrant {
    fn window(&self) -> Option<Window> {
        None
    }
    fn write(&mut self, _: u64, _: &[u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }
    fn read(&mut self, _: u64, _: &mut [u8]) -> Result<(), SysError> {
        Err(SysError::NoRights)
    }
}

#[test]
fn the_service_answers_a_waiting_open_later() {
    let mut s = Service::new(with_fifo());
    let open = |flags| Request::Open {
        dirfd: AT_FDCWD,
        path: path(b"/f").unwrap(),
        flags,
        mode: 0,
    };
    let mut grant = NoGrant;
    let mut creds = |_| Some(Cred::root());
    assert_eq!(
        s.handle(ROOT, &open(O_RDONLY), &mut grant, &mut creds),
        Outcome::Blocked
    );
    let got = s.handle(WRITER, &open(O_WRONLY), &mut grant, &mut creds);
    assert!(matches!(
        got,
        Outcome::Reply(libsys::proto::vfs::Reply::Fd(_))
    ));
    assert_eq!(s.vfs.take_wakeups(), vec![ROOT]);
    let got = s.handle(ROOT, &open(O_RDONLY), &mut grant, &mut creds);
    assert!(matches!(
        got,
        Outcome::Reply(libsys::proto::vfs::Reply::Fd(_))
    ));
}
