//! Clients: each one's descriptor table, working and root directories,
//! umask, credentials and `RLIMIT_NOFILE` ([`crate::vfs::Client`]), and
//! what the process server reports about them — `fork` (the child's
//! table shares the parent's open files, offsets included), `exec`
//! (close-on-exec descriptors closed) and `exit` (everything closed).
//! Bounded by `Limits::clients` (`EAGAIN`); an unknown client is `ESRCH`.

use alloc::vec::Vec;
use libsys::errno::Errno;

use crate::file::FdTable;
use crate::types::*;
use crate::vfs::{Client, Vfs};

impl Vfs {
    /// A new client with working and root directory `/` and umask 022
    /// (`ENOENT` before a root is mounted, `EAGAIN` past the client limit,
    /// `EEXIST` if the id is taken).
    pub fn new_client(&mut self, id: ClientId, cred: Cred) -> Result<(), Errno> {
        let root = self.root.ok_or(Errno::ENOENT)?;
        if self.clients.contains_key(&id) {
            return Err(Errno::EEXIST);
        }
        if self.clients.len() >= self.limits.clients {
            return Err(Errno::EAGAIN);
        }
        self.path_get(root);
        self.path_get(root);
        self.clients.insert(
            id,
            Client {
                fds: FdTable::default(),
                cwd: root,
                root,
                umask: 0o022,
                cred: alloc::rc::Rc::new(cred),
                nofile: self.limits.nofile,
            },
        );
        Ok(())
    }

    pub(crate) fn client(&self, id: ClientId) -> Result<&Client, Errno> {
        self.clients.get(&id).ok_or(Errno::ESRCH)
    }
    pub(crate) fn client_mut(&mut self, id: ClientId) -> Result<&mut Client, Errno> {
        self.clients.get_mut(&id).ok_or(Errno::ESRCH)
    }

    /// Sets a client's credentials (from the process server).
    pub fn set_cred(&mut self, id: ClientId, cred: Cred) -> Result<(), Errno> {
        self.client_mut(id)?.cred = alloc::rc::Rc::new(cred);
        Ok(())
    }

    /// Sets a client's `RLIMIT_NOFILE` (`EINVAL` above `NR_OPEN`).
    pub fn set_nofile(&mut self, id: ClientId, limit: usize) -> Result<(), Errno> {
        if limit > crate::file::NR_OPEN {
            return Err(Errno::EINVAL);
        }
        self.client_mut(id)?.nofile = limit;
        Ok(())
    }

    /// `fork`: the child gets a copy of the parent's table whose
    /// descriptors share the parent's open files (and so their offsets),
    /// and the same directories, umask and credentials.
    pub fn fork(&mut self, parent: ClientId, child: ClientId) -> Result<(), Errno> {
        if self.clients.contains_key(&child) {
            return Err(Errno::EEXIST);
        }
        if self.clients.len() >= self.limits.clients {
            return Err(Errno::EAGAIN);
        }
        let copy = self.client(parent)?.clone();
        for (_, entry) in copy.fds.iter() {
            if let Some(f) = self.files.get_mut(entry.file) {
                f.refs += 1;
            }
        }
        self.path_get(copy.cwd);
        self.path_get(copy.root);
        self.clients.insert(child, copy);
        Ok(())
    }

    /// `exec`: closes the descriptors marked close-on-exec.
    pub fn exec(&mut self, id: ClientId) -> Result<(), Errno> {
        let client = self.client_mut(id)?;
        let doomed: Vec<i32> = client
            .fds
            .iter()
            .filter(|(_, e)| e.cloexec)
            .map(|(fd, _)| fd)
            .collect();
        for fd in doomed {
            self.close(id, fd)?;
        }
        Ok(())
    }

    /// The client is gone: closes everything it had.
    pub fn exit(&mut self, id: ClientId) -> Result<(), Errno> {
        let client = self.clients.remove(&id).ok_or(Errno::ESRCH)?;
        self.cancel_wait(id);
        for (_, entry) in client.fds.iter() {
            self.fput(entry.file);
        }
        self.path_put(client.cwd);
        self.path_put(client.root);
        Ok(())
    }
}
