//! The name service, from a client's side (run by `init` from the test
//! manifests, in both placements):
//!
//! - a registered name is found, as a handle that can only send (and pass
//!   handles along: SEND and GRANT; an endpoint, or a
//!   kernel service with `placement=mono`); an unknown name is `NotFound`;
//! - a name the manifest gives another process cannot be registered, nor
//!   can a name the manifest does not list, nor a handle that is no
//!   endpoint;
//! - a server that crashed on every start is `Failed` (argument
//!   `crashy=failed`);
//! - malformed requests (garbage bytes, a wrong label, an over-long name)
//!   are answered with an error and the service keeps answering;
//! - it leaves a key in `kv` under its own badge, for `kvtest` to check
//!   that clients do not see each other's keys.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::ipc::FOREVER;
use libsys::abi::{ObjectType, Rights};
use libsys::handle::{Endpoint, Notification};
use libsys::ipc::{self, Message};
use libsys::names::{self, NameError};
use libsys::proto::kv::Client;
use libsys::rpc::{LABEL_BAD_REQUEST, LABEL_REQUEST};
use userland::Tally;

libsys::entry!(main);

fn main(args: &str) -> u64 {
    let mut t = Tally::new();
    let kv = names::lookup("kv");
    match &kv {
        Ok(ep) => {
            let info = ep.0.info();
            let ok = matches!(info, Ok((ObjectType::Endpoint | ObjectType::Service, rights)) if rights == Rights::SEND | Rights::GRANT);
            let name = "names: lookup of a registered name gives a SEND and GRANT handle, badged";
            if ok {
                t.check(name, Ok(()));
            } else {
                t.check(name, Err(format_args!("{info:?}")));
            }
        }
        Err(e) => t.check(
            "names: lookup of a registered name gives a SEND and GRANT handle, badged",
            Err(format_args!("{e}")),
        ),
    }
    t.expect_eq(
        "names: an unknown name is NotFound",
        names::lookup("no-such-server").err(),
        Some(NameError::NotFound),
    );
    t.expect_eq(
        "names: a name over 32 bytes is refused before sending",
        names::lookup("a-name-that-is-longer-than-thirty-two-bytes").err(),
        Some(NameError::NameTooLong),
    );

    let mine = Endpoint::create();
    match &mine {
        Ok(ep) => {
            t.expect_eq(
                "names: registering another server's name is NotAllowed",
                names::register("kv", ep).err(),
                Some(NameError::NotAllowed),
            );
            t.expect_eq(
                "names: registering a name no manifest entry owns is NotAllowed",
                names::register("nstest", ep).err(),
                Some(NameError::NotAllowed),
            );
            t.expect_eq(
                "names: kv is still the registered server",
                names::lookup("kv").is_ok(),
                true,
            );
        }
        Err(e) => t.check("names: endpoint_create", Err(format_args!("{e}"))),
    }
    t.record(
        "names: a notification is not accepted as a server endpoint",
        not_an_endpoint(),
    );
    if args.split_whitespace().any(|w| w == "crashy=failed") {
        t.expect_eq(
            "names: a server that crashed on every start is Failed",
            names::lookup("crashy").err(),
            Some(NameError::Failed),
        );
    }
    t.record(
        "names: garbage, a wrong label and a truncated request get errors; lookups still work",
        malformed(),
    );

    match Client::connect() {
        Ok(client) => t.record(
            "kv: nstest leaves a key under its own badge",
            client.put("left-by-nstest", b"mine"),
        ),
        Err(e) => t.check("kv: connect", Err(format_args!("{e}"))),
    }
    t.status()
}

/// The name service's endpoint, lent by the runtime.
fn ns() -> Result<libsys::handle::Borrowed<Endpoint>, NameError> {
    names::service()
}

/// A `Register` carrying a notification handle.
fn not_an_endpoint() -> Result<(), &'static str> {
    use libsys::proto::name::{Reply, Request};
    let n = Notification::create().map_err(|_| "notification_create")?;
    let request = Request::Register {
        name: "kv".try_into().map_err(|_| "name")?,
    };
    let ns = ns().map_err(|_| "no name service")?;
    let reply = libsys::rpc::call_with::<Request, Reply>(&ns, &request, &[n.raw()]);
    match reply {
        Ok((Reply::NotAllowed, _)) => Ok(()),
        _ => Err("not refused"),
    }
}

fn malformed() -> Result<(), libsys::rt::TextBuf<256>> {
    let ns = ns().map_err(|e| libsys::format_text!("{e}"))?;
    let cases: [(&str, u32, &[u8]); 4] = [
        ("garbage", LABEL_REQUEST, &[0xff, 0xff, 0xff, 0xff, 0xff]),
        ("no such variant", LABEL_REQUEST, &[7, 2, b'k', b'v']),
        ("truncated", LABEL_REQUEST, &[1, 10, b'k']),
        ("wrong label", 12345, &[1, 2, b'k', b'v']),
    ];
    for (what, label, bytes) in cases {
        let length = ipc::write_payload(bytes).map_err(|e| libsys::format_text!("{e}"))?;
        let msg = Message::new(label).with_payload(length);
        match ns.call(&msg, FOREVER) {
            Ok(reply) if reply.label() == LABEL_BAD_REQUEST => {}
            other => return Err(libsys::format_text!("{what}: {other:?}")),
        }
    }
    names::lookup("kv")
        .map(drop)
        .map_err(|e| libsys::format_text!("lookup after: {e}"))?;
    Ok(())
}
