//! Lab 6, part 1: the identification register and the liveness check.

mod common;

use common::World;
use libsys::proto::edu::{Reply, Request};

#[test]
fn the_identification_register_says_edu_major_1_minor_0() {
    let mut w = World::new();
    let Reply::Id(id) = w.ask(&Request::Identify) else {
        panic!("no Id reply")
    };
    assert_eq!(id & 0xff, 0xed, "the magic byte");
    assert_eq!(id >> 24, 1, "major version");
    assert_eq!((id >> 16) & 0xff, 0, "minor version");
}

#[test]
fn the_liveness_check_answers_the_inverse_of_each_value() {
    let mut w = World::new();
    for value in [0, 1, 0x1234_5678, 0xedcb_a987, u32::MAX, 0x8000_0000] {
        assert_eq!(
            w.ask(&Request::Liveness { value }),
            Reply::Value(!value),
            "liveness of {value:#x}"
        );
    }
}
