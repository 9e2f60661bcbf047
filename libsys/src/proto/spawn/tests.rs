//! The spawn protocol's tests: every message round-trips, the largest
//! fits, and each malformed request gets its typed error.

use super::*;
use crate::rpc::{decode, encode};

fn arg(text: &str) -> Arg {
    text.try_into().unwrap()
}

fn full() -> Spawn {
    let mut s = Spawn::module("hello").unwrap();
    for i in 0..ARGC_MAX {
        s.args.push(arg(&letter(i))).unwrap();
    }
    for _ in 0..ENVC_MAX {
        s.env.push(arg("HOME=/")).unwrap();
    }
    s.handles = HANDLES_MAX as u8;
    s.name = "hello".try_into().unwrap();
    s.limits.memory_pages = MEMORY_PAGES_MAX;
    s.run_as = Some((1000, 100));
    s
}

fn letter(i: usize) -> heapless::String<4> {
    let mut s = heapless::String::new();
    s.push(char::from(b'a' + i as u8)).unwrap();
    s
}

#[test]
fn every_message_round_trips() {
    let mut buffer = [0u8; 4096];
    let request = Request::Spawn(full());
    let n = encode(&request, &mut buffer).unwrap();
    assert_eq!(decode::<Request>(&buffer[..n]), Ok(request));
    for reply in [
        Reply::Spawned { pid: 42 },
        Reply::Error(SpawnError::TooManyChildren),
    ] {
        let n = encode(&reply, &mut buffer).unwrap();
        assert_eq!(decode::<Reply>(&buffer[..n]), Ok(reply));
    }
}

#[test]
fn a_well_formed_request_passes() {
    assert_eq!(full().check(HANDLES_MAX), Ok(()));
    assert_eq!(Spawn::module("hello").unwrap().check(0), Ok(()));
}

#[test]
fn each_malformed_field_has_its_error() {
    let base = Spawn::module("hello").unwrap();
    let mut s = base.clone();
    s.image = Image::Module(ImageName::new());
    assert_eq!(s.check(0), Err(SpawnError::EmptyImage));
    s.image = Image::Path("/bin/a b".try_into().unwrap());
    assert_eq!(s.check(0), Err(SpawnError::UnknownImage));
    let mut s = base.clone();
    s.args.push(arg("two words")).unwrap();
    assert_eq!(s.check(0), Err(SpawnError::BadArgument));
    let mut s = base.clone();
    s.args.push(Arg::new()).unwrap();
    assert_eq!(s.check(0), Err(SpawnError::BadArgument), "empty");
    let mut s = base.clone();
    s.env.push(arg("NOEQUALS")).unwrap();
    assert_eq!(s.check(0), Err(SpawnError::BadEnvironment));
    s.env[0] = arg("=value");
    assert_eq!(s.check(0), Err(SpawnError::BadEnvironment), "empty key");
    let mut s = base.clone();
    s.handles = 1;
    assert_eq!(s.check(0), Err(SpawnError::BadHandle), "claims one more");
    s.handles = HANDLES_MAX as u8 + 1;
    assert_eq!(s.check(HANDLES_MAX + 1), Err(SpawnError::BadHandle));
    let mut s = base;
    s.limits.memory_pages = MEMORY_PAGES_MAX + 1;
    assert_eq!(s.check(0), Err(SpawnError::BadLimit));
}

#[test]
fn too_many_arguments_do_not_decode() {
    // A list that claims one argument more than the type holds.
    let mut buffer = [0u8; 4096];
    let n = encode(&Spawn::module("m").unwrap(), &mut buffer).unwrap();
    // Image::Module (variant 0), "m" (len 1), then the argument count.
    assert_eq!(&buffer[..3], &[0, 1, b'm']);
    buffer[3] = ARGC_MAX as u8 + 1;
    let mut long = [0u8; 64];
    long[..n].copy_from_slice(&buffer[..n]);
    assert!(decode::<Spawn>(&long).is_err());
}
