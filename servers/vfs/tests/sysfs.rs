//! sysfs on the host, over a fake device manager: the tree walks and
//! lists as devmgr answers, attributes read as their text (a snapshot per
//! open), `bind`/`unbind` written through (and write-only), read-only
//! attributes refused for writing even to root, a device that goes away
//! leaves the cache, and a shell-style `echo > attr` (O_TRUNC) works.

mod common;
use common::*;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use vfs::sysfs::{Node, SysFsType, SysSource};
use vfs::types::*;
use vfs::{Errno, Io, Vfs};

/// Paths to what they are: a directory (`None`) or a text.
#[derive(Default)]
struct Tree {
    nodes: BTreeMap<String, Option<String>>,
    writes: Vec<(String, Vec<u8>)>,
}

#[derive(Clone)]
struct Fake(Rc<RefCell<Tree>>);

const WRITE_ONLY: &str = "\u{0}write-only";

impl SysSource for Fake {
    fn node(&mut self, path: &str) -> Result<Option<Node>, Errno> {
        Ok(self.0.borrow().nodes.get(path).map(|n| match n {
            None => Node::Dir,
            Some(t) if t == WRITE_ONLY => Node::File {
                read: false,
                write: true,
            },
            Some(_) => Node::File {
                read: true,
                write: path.ends_with("/uevent"),
            },
        }))
    }
    fn list(&mut self, path: &str) -> Result<Vec<String>, Errno> {
        let t = self.0.borrow();
        let prefix = format!("{path}/");
        Ok(t.nodes
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('/'))
            .map(String::from)
            .collect())
    }
    fn read(&mut self, path: &str) -> Result<Vec<u8>, Errno> {
        match self.0.borrow().nodes.get(path) {
            Some(Some(t)) if t != WRITE_ONLY => Ok(t.clone().into_bytes()),
            Some(_) => Err(Errno::EIO),
            None => Err(Errno::ENOENT),
        }
    }
    fn write(&mut self, path: &str, value: &[u8]) -> Result<(), Errno> {
        let mut t = self.0.borrow_mut();
        if value.starts_with(b"bogus") {
            return Err(Errno::EINVAL);
        }
        t.writes.push((path.to_string(), value.to_vec()));
        Ok(())
    }
}

const DEV: &str = "/sys/bus/pci/devices/0000:00:03.0";

fn setup() -> (Vfs, Rc<RefCell<Tree>>) {
    let tree = Rc::new(RefCell::new(Tree::default()));
    {
        let mut t = tree.borrow_mut();
        for dir in [
            "/sys/bus",
            "/sys/bus/pci",
            "/sys/bus/pci/devices",
            DEV,
            "/sys/bus/pci/drivers",
            "/sys/bus/pci/drivers/virtio-blk",
            "/sys/class",
        ] {
            t.nodes.insert(dir.into(), None);
        }
        t.nodes
            .insert(format!("{DEV}/vendor"), Some("0x1af4\n".into()));
        t.nodes
            .insert(format!("{DEV}/device"), Some("0x1001\n".into()));
        t.nodes
            .insert(format!("{DEV}/uevent"), Some("PCI_ID=1AF4:1001\n".into()));
        for w in ["bind", "unbind"] {
            t.nodes.insert(
                format!("/sys/bus/pci/drivers/virtio-blk/{w}"),
                Some(WRITE_ONLY.into()),
            );
        }
    }
    let mut v = vfs();
    let fake = Fake(tree.clone());
    v.register_filesystem(Box::new(SysFsType::new(Box::new(move || {
        Box::new(fake.clone()) as Box<dyn SysSource>
    }))))
    .unwrap();
    mkdir(&mut v, ROOT, "/sys", 0o555);
    v.mount(ROOT, b"sysfs", b"/sys", "sysfs", 0, b"").unwrap();
    (v, tree)
}

#[test]
fn the_tree_lists_and_reads_as_devmgr_says() {
    let (mut v, _) = setup();
    assert_eq!(list_dir(&mut v, USER, "/sys"), [".", "..", "bus", "class"]);
    assert_eq!(
        list_dir(&mut v, USER, "/sys/bus/pci/devices"),
        [".", "..", "0000:00:03.0"]
    );
    let vendor = read_file(&mut v, USER, &format!("{DEV}/vendor")).unwrap();
    assert_eq!(vendor, b"0x1af4\n");
    let st = v.stat(USER, format!("{DEV}/vendor").as_bytes()).unwrap();
    assert_eq!(st.st_mode, S_IFREG | 0o444);
    assert_eq!(
        v.stat(USER, DEV.as_bytes()).unwrap().st_mode,
        S_IFDIR | 0o755
    );
    assert_eq!(
        read_file(&mut v, USER, &format!("{DEV}/nothing")),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        read_file(&mut v, USER, "/sys/bus/pci/devices"),
        Err(Errno::EISDIR)
    );
}

#[test]
fn bind_and_unbind_are_written_through_and_write_only() {
    let (mut v, tree) = setup();
    let unbind = "/sys/bus/pci/drivers/virtio-blk/unbind";
    // As the shell's `echo 0000:00:03.0 > unbind`: O_TRUNC is harmless.
    let fd = v
        .open(ROOT, unbind.as_bytes(), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        .unwrap();
    assert_eq!(v.write(ROOT, fd, b"0000:00:03.0\n").unwrap(), Io::Done(13));
    assert_eq!(v.write(ROOT, fd, b"bogus\n"), Err(Errno::EINVAL));
    v.close(ROOT, fd).unwrap();
    assert_eq!(
        tree.borrow().writes,
        [(unbind.to_string(), b"0000:00:03.0\n".to_vec())]
    );
    assert_eq!(
        v.open(ROOT, unbind.as_bytes(), O_RDONLY, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.open(USER, unbind.as_bytes(), O_WRONLY, 0),
        Err(Errno::EACCES)
    );
}

#[test]
fn read_only_attributes_refuse_writers_even_root() {
    let (mut v, tree) = setup();
    let vendor = format!("{DEV}/vendor");
    assert_eq!(
        v.open(ROOT, vendor.as_bytes(), O_WRONLY, 0),
        Err(Errno::EACCES)
    );
    assert_eq!(
        v.open(ROOT, vendor.as_bytes(), O_RDWR, 0),
        Err(Errno::EACCES)
    );
    // uevent is writable (by root: 0644).
    let uevent = format!("{DEV}/uevent");
    write_file(&mut v, ROOT, &uevent, b"add\n");
    assert_eq!(tree.borrow().writes.len(), 1);
    assert_eq!(v.unlink(ROOT, vendor.as_bytes()), Err(Errno::EACCES));
    assert_eq!(v.mkdir(ROOT, b"/sys/x", 0o755), Err(Errno::EACCES));
}

#[test]
fn a_device_that_goes_leaves_the_cache_and_one_that_comes_appears() {
    let (mut v, tree) = setup();
    let vendor = format!("{DEV}/vendor");
    read_file(&mut v, USER, &vendor).unwrap();
    let fd = v.open(USER, vendor.as_bytes(), O_RDONLY, 0).unwrap();
    tree.borrow_mut().nodes.retain(|k, _| !k.starts_with(DEV));
    assert_eq!(read_file(&mut v, USER, &vendor), Err(Errno::ENOENT));
    // The open one keeps what it read.
    let mut buf = [0u8; 16];
    assert_eq!(v.read(USER, fd, &mut buf).unwrap(), Io::Done(7));
    v.close(USER, fd).unwrap();
    let new = "/sys/bus/pci/devices/0000:00:04.0";
    assert_eq!(v.stat(USER, new.as_bytes()).unwrap_err(), Errno::ENOENT);
    tree.borrow_mut().nodes.insert(new.into(), None);
    assert!(
        v.stat(USER, new.as_bytes()).is_ok(),
        "the negative entry was revalidated"
    );
}
