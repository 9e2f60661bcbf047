//! Pipes: the ring on its own (atomic writes up to PIPE_BUF, partial
//! larger ones, capacity) and through descriptors — end of file when the
//! last writer goes, EPIPE (and SIGPIPE) when the last reader goes,
//! O_NONBLOCK → EAGAIN, blocked callers recorded and woken, poll
//! readiness, ESPIPE for seeks, and ends shared across fork.

mod common;
use common::*;
use vfs::pipe::{Pipe, PipeRead, PipeWrite, PIPE_BUF, PIPE_CAPACITY};
use vfs::types::*;
use vfs::{Errno, Io, Vfs};

const CHILD: u64 = 10;

#[test]
fn ring_atomicity_and_capacity() {
    let mut p = Pipe::new(1, Timespec::default());
    assert_eq!(
        p.write(&vec![1u8; PIPE_CAPACITY - 100]),
        PipeWrite::All(PIPE_CAPACITY - 100)
    );
    // ≤ PIPE_BUF: all or nothing.
    assert_eq!(p.write(&[2u8; 200]), PipeWrite::Partial(0));
    assert_eq!(p.len(), PIPE_CAPACITY - 100);
    assert_eq!(p.write(&[2u8; 100]), PipeWrite::All(100));
    assert_eq!(p.room(), 0);
    let mut out = vec![0u8; 5000];
    assert_eq!(p.read(&mut out), PipeRead::Data(5000));
    // > PIPE_BUF: what fits goes in.
    assert_eq!(p.write(&[3u8; PIPE_BUF + 2000]), PipeWrite::Partial(5000));
    assert_eq!(p.len(), PIPE_CAPACITY);
    let mut all = vec![0u8; PIPE_CAPACITY + 10];
    assert_eq!(p.read(&mut all), PipeRead::Data(PIPE_CAPACITY));
    assert!(all[..PIPE_CAPACITY - 5100].iter().all(|&b| b == 1));
    assert!(all[PIPE_CAPACITY - 5000..PIPE_CAPACITY]
        .iter()
        .all(|&b| b == 3));
    assert_eq!(p.read(&mut all), PipeRead::Empty);
    p.writers = 0;
    assert_eq!(p.read(&mut all), PipeRead::Eof);
    p.readers = 0;
    assert_eq!(p.write(b"x"), PipeWrite::Broken);
}

fn read_all(v: &mut Vfs, c: u64, fd: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Io::Done(n) = v.read(c, fd, &mut buf).unwrap() {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn data_then_end_of_file() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, 0).unwrap();
    assert_eq!((r, w), (0, 1));
    assert_eq!(v.write(ROOT, w, b"hello").unwrap(), Io::Done(5));
    let mut buf = [0u8; 3];
    assert_eq!(v.read(ROOT, r, &mut buf).unwrap(), Io::Done(3));
    assert_eq!(&buf, b"hel");
    v.close(ROOT, w).unwrap();
    assert_eq!(read_all(&mut v, ROOT, r), b"lo");
    assert_eq!(
        v.read(ROOT, r, &mut buf).unwrap(),
        Io::Done(0),
        "EOF, not blocking"
    );
    assert_eq!(v.write(ROOT, r, b"x"), Err(Errno::EBADF));
}

#[test]
fn no_reader_is_epipe_and_sigpipe() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, 0).unwrap();
    v.close(ROOT, r).unwrap();
    let err = v.write(ROOT, w, b"x").unwrap_err();
    assert_eq!(err, Errno::EPIPE);
    assert!(Vfs::write_raises_sigpipe(err));
    assert_eq!(v.poll(ROOT, w).unwrap() & POLLERR, POLLERR);
}

#[test]
fn nonblocking_ends_say_eagain() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, O_NONBLOCK).unwrap();
    let mut buf = [0u8; 10];
    assert_eq!(v.read(ROOT, r, &mut buf), Err(Errno::EAGAIN));
    v.write(ROOT, w, &vec![0u8; PIPE_CAPACITY - 10]).unwrap();
    assert_eq!(
        v.write(ROOT, w, &[1u8; 20]),
        Err(Errno::EAGAIN),
        "atomic: none of it"
    );
    assert_eq!(
        v.write(ROOT, w, &[1u8; PIPE_BUF + 1]).unwrap(),
        Io::Done(10),
        "partial"
    );
    assert_eq!(v.write(ROOT, w, &[1u8; PIPE_BUF + 1]), Err(Errno::EAGAIN));
    assert_eq!(
        v.fcntl(ROOT, r, F_GETFL, 0).unwrap() & O_NONBLOCK as u64,
        O_NONBLOCK as u64
    );
    v.fcntl(ROOT, r, F_SETFL, 0).unwrap();
    let (r2, _w2) = v.pipe2(ROOT, 0).unwrap();
    v.fcntl(ROOT, r2, F_SETFL, O_NONBLOCK as u64).unwrap();
    assert_eq!(v.read(ROOT, r2, &mut buf), Err(Errno::EAGAIN));
}

#[test]
fn blocked_readers_and_writers_are_woken() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, 0).unwrap();
    v.fork(ROOT, CHILD).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(v.read(CHILD, r, &mut buf).unwrap(), Io::Blocked(0));
    assert!(v.take_wakeups().is_empty());
    v.write(ROOT, w, b"ping").unwrap();
    assert_eq!(v.take_wakeups(), [CHILD]);
    assert_eq!(v.read(CHILD, r, &mut buf).unwrap(), Io::Done(4));
    // A writer that fills the pipe waits for room.
    let big = vec![7u8; PIPE_CAPACITY + 1000];
    assert_eq!(v.write(ROOT, w, &big).unwrap(), Io::Blocked(PIPE_CAPACITY));
    let mut sink = vec![0u8; 2000];
    v.read(CHILD, r, &mut sink).unwrap();
    assert_eq!(v.take_wakeups(), [ROOT]);
    assert_eq!(
        v.write(ROOT, w, &big[PIPE_CAPACITY..]).unwrap(),
        Io::Done(1000)
    );
    // A blocked reader is woken when the last writer goes.
    let (r2, w2) = v.pipe2(ROOT, 0).unwrap();
    assert_eq!(v.read(ROOT, r2, &mut buf).unwrap(), Io::Blocked(0));
    v.close(ROOT, w2).unwrap();
    assert_eq!(v.take_wakeups(), [ROOT]);
    assert_eq!(v.read(ROOT, r2, &mut buf).unwrap(), Io::Done(0));
    // A cancelled wait is forgotten.
    let (r3, w3) = v.pipe2(ROOT, 0).unwrap();
    assert_eq!(
        v.read(CHILD, r3, &mut buf),
        Err(Errno::EBADF),
        "opened after fork"
    );
    assert_eq!(v.read(ROOT, r3, &mut buf).unwrap(), Io::Blocked(0));
    v.cancel_wait(ROOT);
    v.write(ROOT, w3, b"x").unwrap();
    assert!(v.take_wakeups().is_empty());
}

#[test]
fn ends_shared_across_fork() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, 0).unwrap();
    v.fork(ROOT, CHILD).unwrap();
    v.close(ROOT, w).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(
        v.read(ROOT, r, &mut buf).unwrap(),
        Io::Blocked(0),
        "the child still writes"
    );
    v.write(CHILD, w, b"abc").unwrap();
    v.exit(CHILD).unwrap();
    assert_eq!(v.read(ROOT, r, &mut buf).unwrap(), Io::Done(3));
    assert_eq!(v.read(ROOT, r, &mut buf).unwrap(), Io::Done(0));
}

#[test]
fn poll_readiness() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, 0).unwrap();
    assert_eq!(v.poll(ROOT, r).unwrap(), 0);
    assert_eq!(v.poll(ROOT, w).unwrap(), POLLOUT | POLLWRNORM);
    v.write(ROOT, w, b"x").unwrap();
    assert_eq!(v.poll(ROOT, r).unwrap(), POLLIN | POLLRDNORM);
    v.write(ROOT, w, &vec![0u8; PIPE_CAPACITY - 1]).unwrap();
    assert_eq!(v.poll(ROOT, w).unwrap(), 0, "full");
    v.close(ROOT, w).unwrap();
    assert_eq!(v.poll(ROOT, r).unwrap(), POLLIN | POLLRDNORM | POLLHUP);
    assert_eq!(v.poll(ROOT, 9), Err(Errno::EBADF));
    write_file(&mut v, ROOT, "/f", b"");
    let f = v.open(ROOT, b"/f", O_RDONLY, 0).unwrap();
    assert_eq!(
        v.poll(ROOT, f).unwrap() & (POLLIN | POLLOUT),
        POLLIN | POLLOUT
    );
}

#[test]
fn pipes_do_not_seek_and_stat_as_fifos() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, O_CLOEXEC).unwrap();
    assert_eq!(v.lseek(ROOT, r, 0, SEEK_SET), Err(Errno::ESPIPE));
    let mut buf = [0u8; 1];
    assert_eq!(v.pread(ROOT, r, &mut buf, 0), Err(Errno::ESPIPE));
    assert_eq!(v.pwrite(ROOT, w, b"x", 0), Err(Errno::ESPIPE));
    let st = v.fstat(ROOT, r).unwrap();
    assert_eq!(st.st_mode & S_IFMT, S_IFIFO);
    assert_eq!(st.st_ino, v.fstat(ROOT, w).unwrap().st_ino);
    assert_eq!(v.fcntl(ROOT, r, F_GETFD, 0).unwrap(), 1);
    assert_eq!(v.fcntl(ROOT, w, F_GETFL, 0).unwrap() & 3, O_WRONLY as u64);
    assert_eq!(v.getdents64(ROOT, r, 100), Err(Errno::ENOTDIR));
    assert_eq!(v.fchdir(ROOT, r), Err(Errno::ENOTDIR));
    assert_eq!(v.pipe2(ROOT, O_APPEND), Err(Errno::EINVAL));
    assert_eq!(v.fsync(ROOT, r), Err(Errno::EINVAL));
}

#[test]
fn wakeups_into_a_kept_list() {
    let mut v = vfs();
    let (r, w) = v.pipe2(ROOT, 0).unwrap();
    v.fork(ROOT, CHILD).unwrap();
    let mut buf = [0u8; 8];
    let mut woken = vec![99, 98];
    v.take_wakeups_into(&mut woken);
    assert!(woken.is_empty(), "emptied first");
    // Both wait on the same pipe, one of them twice: each is named once,
    // in order.
    assert_eq!(v.read(CHILD, r, &mut buf).unwrap(), Io::Blocked(0));
    assert_eq!(v.read(ROOT, r, &mut buf).unwrap(), Io::Blocked(0));
    assert_eq!(v.read(CHILD, r, &mut buf).unwrap(), Io::Blocked(0));
    v.write(ROOT, w, b"x").unwrap();
    v.take_wakeups_into(&mut woken);
    let mut expected = vec![ROOT, CHILD];
    expected.sort_unstable();
    assert_eq!(woken, expected);
    // The waiters were moved out: a second write wakes nobody.
    v.write(ROOT, w, b"y").unwrap();
    v.take_wakeups_into(&mut woken);
    assert!(woken.is_empty());
}
