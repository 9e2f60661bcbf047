//! Lab 6, part 3: DMA between the driver's DMA memory and the device's
//! buffer, answered from its interrupt.

mod common;

use common::World;
use libsys::proto::edu::{Data, EduError, Reply, Request, DMA_BUFFER, DMA_END, DMA_MAX};

fn pattern(len: usize, seed: u8) -> Data {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn bytes_make_the_round_trip_through_the_device_buffer() {
    let mut w = World::new();
    let data = pattern(300, 7);
    assert_eq!(
        w.ask(&Request::DmaWrite {
            offset: 100,
            data: data.clone()
        }),
        Reply::Done
    );
    assert_eq!(&w.sim().buffer()[100..400], &data[..], "in the device");
    assert_eq!(
        w.ask(&Request::DmaRead {
            offset: 100,
            len: 300
        }),
        Reply::Data(data)
    );
    let stats = w.stats();
    assert_eq!((stats.dmas, stats.irqs), (2, 2));
}

#[test]
fn the_whole_buffer_in_chunks_and_overlapping_reads() {
    let mut w = World::new();
    for chunk in 0..DMA_BUFFER / DMA_MAX {
        let offset = (chunk * DMA_MAX) as u16;
        // Up to DMA_END: the last byte is out of reach (QEMU 7.2).
        let len = DMA_MAX.min(DMA_END - chunk * DMA_MAX);
        let data = pattern(len, chunk as u8);
        assert_eq!(w.ask(&Request::DmaWrite { offset, data }), Reply::Done);
    }
    let Reply::Data(middle) = w.ask(&Request::DmaRead {
        offset: 1000,
        len: 48,
    }) else {
        panic!("no data")
    };
    let expected: Vec<u8> = pattern(DMA_MAX, 0)[1000..]
        .iter()
        .chain(&pattern(DMA_MAX, 1)[..24])
        .copied()
        .collect();
    assert_eq!(&middle[..], &expected[..]);
}

#[test]
fn ranges_outside_the_buffer_are_refused_before_the_device_sees_them() {
    let mut w = World::new();
    let bad = [
        Request::DmaWrite {
            offset: 4000,
            data: pattern(200, 1),
        },
        Request::DmaWrite {
            offset: 0,
            data: Data::new(),
        },
        Request::DmaRead {
            offset: 4096,
            len: 1,
        },
        Request::DmaRead { offset: 0, len: 0 },
        Request::DmaRead {
            offset: 0,
            len: u16::MAX,
        },
    ];
    for request in bad {
        assert_eq!(
            w.send(&request),
            Ok(Reply::Error(EduError::BadRange)),
            "{request:?}"
        );
    }
    // Ending at the buffer's end: QEMU 7.2 would abort the machine.
    assert_eq!(
        w.send(&Request::DmaWrite {
            offset: 4095,
            data: pattern(1, 9)
        }),
        Ok(Reply::Error(EduError::BadRange))
    );
    // Ending just before it is fine.
    assert_eq!(
        w.ask(&Request::DmaWrite {
            offset: 4094,
            data: pattern(1, 9)
        }),
        Reply::Done
    );
    assert_eq!(w.stats().dmas, 1);
}

#[test]
fn dma_and_factorials_queue_behind_each_other() {
    let mut w = World::new();
    let write = w
        .send(&Request::DmaWrite {
            offset: 0,
            data: pattern(64, 3),
        })
        .unwrap_err();
    let fact = w.send(&Request::Factorial { n: 8 }).unwrap_err();
    let read = w
        .send(&Request::DmaRead { offset: 0, len: 64 })
        .unwrap_err();
    w.pump();
    assert_eq!(w.answer(write), Some(Reply::Done));
    assert_eq!(w.answer(fact), Some(Reply::Value(40320)));
    assert_eq!(w.answer(read), Some(Reply::Data(pattern(64, 3))));
}
