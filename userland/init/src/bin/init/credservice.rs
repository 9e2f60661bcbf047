//! The credentials service (`libsys::proto::cred`), answered on `init`'s
//! one endpoint: a handle to it (from a lookup of `cred`) carries the
//! caller's pid and the credentials tag in its badge, so the name-service
//! loop hands such requests here. The answers come from the process table
//! (`init::procs`): the credentials of every process `init` started, by
//! kernel pid. The process server answers the same protocol later.
#![forbid(unsafe_code)]

use libsys::ipc::{self, Message, Received};
use libsys::proto::cred::{Reply, Request};
use libsys::rpc::{self, LABEL_BAD_REQUEST};

use crate::Init;

impl Init {
    /// Answers one credentials request from process `pid`.
    pub(crate) fn cred_request(&mut self, mut received: Received, pid: u64) {
        // The protocol carries no handles: any that came are closed.
        drop(received.take_handles());
        let request = rpc::decode_request::<Request>(&received.msg).ok();
        let reply = match request {
            Some(Request::Get { pid: of }) => match self.procs.credentials(of) {
                Ok(c) => Reply::Credentials(c),
                Err(e) => Reply::Error(e),
            },
            Some(Request::Caller) => Reply::Caller { pid },
            None => {
                let _ = ipc::reply(&Message::new(LABEL_BAD_REQUEST));
                return;
            }
        };
        // The caller may be gone already; nothing to do about that.
        let _ = rpc::reply(&reply, &[]);
    }
}
