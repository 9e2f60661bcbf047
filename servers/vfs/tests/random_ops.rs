//! Hostile-input and leak check: thousands of pseudo-random calls (random
//! paths made of a few names, `.`, `..`, slashes and symlinks; random
//! flags, descriptors, offsets and sizes) from three clients, some forked.
//! Nothing may panic; afterwards, once every client has exited and the
//! tree is removed, no open file, pinned dentry, in-core inode or cached
//! page may be left — every reference taken was given back.

mod common;
use common::*;
use vfs::dirent::parse_dirents;
use vfs::types::*;
use vfs::Vfs;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_path(r: &mut Rng) -> Vec<u8> {
    let parts = [
        "a", "b", "c", "l", "m", "a", "b", "c", "l", ".", "..", "", "x",
    ];
    let mut p = String::new();
    if r.below(3) > 0 {
        p.push('/');
    }
    let depth = if r.below(4) == 0 {
        r.below(4)
    } else {
        r.below(2)
    };
    for i in 0..=depth {
        if i > 0 {
            p.push('/');
        }
        p.push_str(r.pick(&parts));
    }
    if r.below(8) == 0 {
        p.push('/');
    }
    p.into_bytes()
}

fn random_op(v: &mut Vfs, r: &mut Rng, clients: &[u64]) -> (u64, bool) {
    let c = clients[r.below(clients.len() as u64) as usize];
    let path = random_path(r);
    let path2 = random_path(r);
    let fd = r.below(12) as i32 - 1;
    let mut buf = vec![0u8; r.below(9000) as usize];
    let mut flags = r.below(4) as u32;
    for f in [
        O_CREAT,
        O_CREAT,
        O_CREAT,
        O_CREAT,
        O_EXCL,
        O_TRUNC,
        O_APPEND,
        O_DIRECTORY,
        O_NOFOLLOW,
        O_NONBLOCK,
        O_CLOEXEC,
    ] {
        if r.below(8) == 0 {
            flags |= f;
        }
    }
    let kind = r.below(28);
    let result = match kind {
        0 | 1 => v.open(c, &path, flags, r.below(0o10000) as u32).map(|_| ()),
        2 => v.close(c, fd),
        3 => v.read(c, fd, &mut buf).map(|_| ()),
        4 => v.write(c, fd, &buf).map(|_| ()),
        5 => v
            .pread(c, fd, &mut buf, r.below(20000) as i64 - 10)
            .map(|_| ()),
        6 => v
            .pwrite(c, fd, &buf, r.below(1 << 22) as i64 - 10)
            .map(|_| ()),
        7 => v
            .lseek(c, fd, r.below(10000) as i64 - 5000, r.below(6) as u32)
            .map(|_| ()),
        8 => v.mkdir(c, &path, 0o777),
        9 => v.rmdir(c, &path),
        10 => v.unlink(c, &path),
        11 => v.rename(c, &path, &path2),
        12 => v.link(c, &path, &path2),
        13 => v.symlink(c, &path, &path2),
        14 => v.readlink(c, &path, r.below(10) as usize).map(|_| ()),
        15 => v.truncate(c, &path, r.below(10000) as i64 - 100),
        16 => v.ftruncate(c, fd, r.below(10000) as i64 - 100),
        17 => v.chmod(c, &path, r.below(0o10000) as u32),
        18 => v.chdir(c, &path),
        19 => v.dup2(c, fd, r.below(12) as i32 - 1).map(|_| ()),
        20 => v
            .fcntl(
                c,
                fd,
                r.pick(&["0", "1", "2", "3", "4", "1030", "77"])
                    .parse()
                    .unwrap(),
                r.below(16),
            )
            .map(|_| ()),
        21 => v.pipe2(c, flags & (O_NONBLOCK | O_CLOEXEC)).map(|_| ()),
        22 => v.getdents64(c, fd, r.below(300) as usize).map(|_| ()),
        23 => v.stat(c, &path).map(|_| ()),
        24 => v.fchdir(c, fd),
        25 => v.fsync(c, fd),
        26 => {
            v.shrink_dcache(r.below(20));
            v.trim_caches();
            Ok(())
        }
        _ => v.getcwd(c, r.below(50) as usize).map(|_| ()),
    };
    // The server would retry the woken; here they simply try again later.
    v.take_wakeups();
    (kind, result.is_ok())
}

fn remove_tree(v: &mut Vfs, dir: &str) {
    let fd = v
        .open(ROOT, dir.as_bytes(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0)
        .unwrap();
    let mut names = Vec::new();
    loop {
        let buf = v.getdents64(ROOT, fd, 4096).unwrap();
        if buf.is_empty() {
            break;
        }
        for d in parse_dirents(&buf).unwrap() {
            if d.name != b"." && d.name != b".." {
                names.push((String::from_utf8(d.name).unwrap(), d.dtype));
            }
        }
    }
    v.close(ROOT, fd).unwrap();
    for (name, dtype) in names {
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        if dtype == DT_DIR {
            // A mount goes with its contents; then what was under it.
            let _ = v.umount(ROOT, path.as_bytes(), 0);
            remove_tree(v, &path);
            v.rmdir(ROOT, path.as_bytes()).unwrap();
        } else {
            v.unlink(ROOT, path.as_bytes()).unwrap();
        }
    }
}

fn run(seed: u64, ops: usize) {
    let mut v = vfs_with(64, Default::default());
    v.umask(ROOT, 0).unwrap();
    v.chmod(ROOT, b"/", 0o777).unwrap();
    mkdir(&mut v, ROOT, "/m", 0o777);
    v.mount(ROOT, b"m", b"/m", "tmpfs", 0, b"mode=1777")
        .unwrap();
    let mut r = Rng(seed);
    let mut clients = vec![ROOT, USER, OTHER];
    let mut succeeded = [0u32; 28];
    for i in 0..ops {
        if i % 500 == 250 {
            let parent = clients[r.below(clients.len() as u64) as usize];
            let child = 100 + i as u64;
            if v.fork(parent, child).is_ok() {
                clients.push(child);
            }
        }
        if i % 700 == 600 && clients.len() > 3 {
            let gone = clients.pop().unwrap();
            v.exit(gone).unwrap();
        }
        if i % 300 == 299 {
            let c = clients[r.below(clients.len() as u64) as usize];
            v.exec(c).unwrap();
        }
        let (kind, ok) = random_op(&mut v, &mut r, &clients);
        succeeded[kind as usize] += ok as u32;
    }
    // The mix reaches past the error paths: most kinds of call succeed
    // sometimes.
    let kinds_that_worked = succeeded.iter().filter(|&&n| n > 0).count();
    assert!(kinds_that_worked >= 24, "{succeeded:?}");
    // Everyone leaves; a fresh root client removes the whole tree.
    for c in clients {
        v.exit(c).unwrap();
    }
    assert_eq!(v.nr_files(), 0);
    v.new_client(ROOT, Cred::root()).unwrap();
    remove_tree(&mut v, "/");
    assert_eq!(list_dir(&mut v, ROOT, "/"), [".", ".."]);
    v.exit(ROOT).unwrap();
    v.shrink_dcache(u64::MAX);
    assert_eq!(v.dcache.state().nr_dentry, 1, "only the root's dentry");
    assert_eq!(v.nr_inodes(), 1, "only the root inode");
    assert_eq!(v.pcache.stats().cached, 0);
    assert_eq!(v.mounts.len(), 1);
}

#[test]
fn random_calls_never_panic_and_leak_nothing() {
    for seed in 1..=8u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15), 3000);
    }
}
