//! The dentry cache: hits and misses, negative entries (and their turning
//! positive), LRU shrinking that spares dentries in use, the self-shrink
//! at the configured limit, and the `dentry-state` counts; the dcache on
//! its own too (hashing, d_move, unhash on delete while in use).

mod common;
use common::*;
use vfs::dcache::Dcache;
use vfs::types::*;
use vfs::{Errno, Io, Limits};

#[test]
fn repeated_lookups_hit() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    write_file(&mut v, ROOT, "/a/f", b"");
    let before = v.dcache.stats;
    v.stat(ROOT, b"/a/f").unwrap();
    let after = v.dcache.stats;
    assert_eq!(after.hits - before.hits, 2, "a and f");
    assert_eq!(after.misses, before.misses);
}

#[test]
fn negative_entries() {
    let mut v = vfs();
    let neg = v.dcache.state().nr_negative;
    assert_eq!(v.stat(ROOT, b"/missing"), Err(Errno::ENOENT));
    assert_eq!(v.dcache.state().nr_negative, neg + 1);
    let misses = v.dcache.stats.misses;
    assert_eq!(v.stat(ROOT, b"/missing"), Err(Errno::ENOENT));
    assert_eq!(
        v.dcache.stats.misses, misses,
        "answered by the negative dentry"
    );
    write_file(&mut v, ROOT, "/missing", b"now");
    assert_eq!(v.dcache.state().nr_negative, neg, "it became positive");
    assert_eq!(v.stat(ROOT, b"/missing").unwrap().st_size, 3);
    v.unlink(ROOT, b"/missing").unwrap();
    assert_eq!(
        v.dcache.state().nr_negative,
        neg + 1,
        "unlink leaves a negative dentry"
    );
    assert_eq!(v.stat(ROOT, b"/missing"), Err(Errno::ENOENT));
}

#[test]
fn shrinking_frees_unused_dentries_oldest_first() {
    let mut v = vfs();
    for i in 0..100 {
        write_file(&mut v, ROOT, &format!("/f{i}"), b"");
    }
    let st = v.dcache.state();
    assert!(st.nr_dentry >= 101);
    assert!(st.nr_unused >= 100);
    assert_eq!(st.age_limit, 45);
    v.stat(ROOT, b"/f0").unwrap();
    assert_eq!(v.shrink_dcache(50), 50);
    assert_eq!(v.dcache.state().nr_dentry, st.nr_dentry - 50);
    let misses = v.dcache.stats.misses;
    v.stat(ROOT, b"/f0").unwrap();
    assert_eq!(
        v.dcache.stats.misses, misses,
        "the recently used one stayed"
    );
    v.stat(ROOT, b"/f1").unwrap();
    assert_eq!(v.dcache.stats.misses, misses + 1, "an old one was freed");
    // Everything still works through the file system after a full shrink.
    v.shrink_dcache(u64::MAX);
    assert_eq!(v.dcache.state().nr_unused, 0);
    for i in 0..100 {
        assert!(v.stat(ROOT, format!("/f{i}").as_bytes()).is_ok());
    }
}

#[test]
fn dentries_in_use_survive_shrinking() {
    let mut v = vfs();
    mkdir(&mut v, ROOT, "/a", 0o755);
    mkdir(&mut v, ROOT, "/a/b", 0o755);
    write_file(&mut v, ROOT, "/a/b/f", b"kept");
    let fd = v.open(ROOT, b"/a/b/f", O_RDONLY, 0).unwrap();
    v.chdir(USER, b"/a/b").unwrap();
    v.shrink_dcache(u64::MAX);
    // The open file's dentry and its parents are pinned.
    assert!(v.dcache.state().nr_dentry >= 4);
    assert_eq!(v.getcwd(USER, 100).unwrap(), b"/a/b");
    let mut buf = [0u8; 4];
    assert_eq!(v.pread(ROOT, fd, &mut buf, 0).unwrap(), Io::Done(4));
    v.close(ROOT, fd).unwrap();
    v.chdir(USER, b"/").unwrap();
    let before = v.dcache.state().nr_dentry;
    v.shrink_dcache(u64::MAX);
    assert!(v.dcache.state().nr_dentry < before);
}

#[test]
fn trimming_keeps_the_cache_at_its_limit() {
    let limits = Limits {
        dentries: 64,
        ..Limits::default()
    };
    let mut v = vfs_with(256, limits);
    for i in 0..300 {
        write_file(&mut v, ROOT, &format!("/f{i}"), b"");
        v.trim_caches();
        assert!(v.dcache.state().nr_dentry <= 64);
    }
    for i in 0..300 {
        assert!(v.stat(ROOT, format!("/f{i}").as_bytes()).is_ok());
    }
    // A request in flight is never trimmed under: the walk's dentries
    // stay until the server trims after it.
    mkdir(&mut v, ROOT, "/deep", 0o755);
    let mut path = String::from("/deep");
    for _ in 0..100 {
        path.push_str("/d");
        v.mkdir(ROOT, path.as_bytes(), 0o755).unwrap();
    }
    v.shrink_dcache(u64::MAX);
    assert!(v.stat(ROOT, format!("{path}/..").as_bytes()).is_ok());
    assert!(v.dcache.state().nr_dentry > 100);
    v.trim_caches();
    assert!(v.dcache.state().nr_dentry <= 64);
}

#[test]
fn dcache_alone() {
    let mut d = Dcache::new();
    let root = d.alloc_root(0, 1);
    let a = d.alloc(root, b"a", Some(2));
    let neg = d.alloc(root, b"zz", None);
    assert_eq!(d.lookup(root, b"a"), Some(a));
    assert_eq!(d.lookup(a, b"a"), None, "the parent is part of the key");
    assert_eq!(d.state().nr_negative, 1);
    d.instantiate(neg, 3);
    assert_eq!(d.state().nr_negative, 0);
    // d_move: found under the new name only.
    let sub = d.alloc(root, b"sub", Some(4));
    d.dget(sub);
    let released = d.d_move(a, sub, b"moved");
    assert!(released.is_empty());
    assert_eq!(d.lookup(root, b"a"), None);
    assert_eq!(d.lookup(sub, b"moved"), Some(a));
    assert_eq!(d.components(a), [&b"sub"[..], b"moved"]);
    assert!(d.is_subdir(a, sub));
    assert!(!d.is_subdir(sub, a));
    // Deleting a dentry in use unhashes it; it goes with its last user.
    d.dget(a);
    assert_eq!(d.delete(a), None);
    assert_eq!(d.lookup(sub, b"moved"), None);
    assert_eq!(d.dput(a), [(0, 2)]);
    // An unused one turns negative instead.
    assert_eq!(d.delete(neg), Some((0, 3)));
    assert_eq!(d.state().nr_negative, 1);
    assert_eq!(d.lookup(root, b"zz"), Some(neg));
    // `sub` has a reference (ours) and no children now.
    let n = d.state().nr_dentry;
    assert_eq!(d.shrink(10), []);
    assert_eq!(
        d.state().nr_dentry,
        n - 1,
        "only the negative zz was unused"
    );
    assert_eq!(d.dput(sub), []);
    assert_eq!(d.shrink(10), [(0, 4)]);
}

#[test]
fn proc_sys_fs_texts() {
    let mut v = vfs();
    v.stat(ROOT, b"/none").unwrap_err();
    let st = v.dcache.state();
    assert_eq!(
        v.dentry_state_text(),
        format!(
            "{}\t{}\t45\t0\t{}\t0\n",
            st.nr_dentry, st.nr_unused, st.nr_negative
        )
    );
    v.open(ROOT, b"/", O_RDONLY, 0).unwrap();
    assert_eq!(v.file_nr_text(), "1\t0\t8192\n");
}
