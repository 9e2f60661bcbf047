//! The whole test binary runs with kmem as its `#[global_allocator]`: the
//! test harness, its threads, `Vec`, `String`, `BTreeMap` and large boxes
//! all allocate through `SlabAllocator`, over pages from the system
//! allocator. (Nothing here asks for more than 4 MiB at once: kmalloc's
//! limit, above which the adapter returns null.)

mod common;

use std::collections::BTreeMap;

use common::SystemPages;
use kmem::SlabAllocator;

#[global_allocator]
static HEAP: SlabAllocator<SystemPages> = SlabAllocator::new(SystemPages);

fn heap_is_consistent() {
    // The lock is dropped before anything that could allocate.
    let check = HEAP.lock().check();
    assert_eq!(check, Ok(()));
    assert_eq!(HEAP.failed_frees(), 0);
}

#[test]
fn collections_live_on_the_slab_allocator() {
    let mut words: Vec<String> = (0..20_000).map(|i| format!("word-{i}")).collect();
    words.sort();
    let mut index = BTreeMap::new();
    for (i, word) in words.iter().enumerate() {
        index.insert(word.clone(), i);
    }
    assert_eq!(
        index["word-12345"],
        words.binary_search(&"word-12345".to_string()).unwrap()
    );
    let large = vec![0xabu8; 3 << 20];
    assert!(large.iter().all(|&b| b == 0xab));
    // Grows by doubling up to 4 MiB, the largest block kmalloc serves.
    let grown: Vec<u64> = (0..400_000).collect();
    assert_eq!(grown.iter().sum::<u64>(), 399_999 * 400_000 / 2);
    drop((words, index, large, grown));
    heap_is_consistent();
}

#[test]
fn threads_share_it() {
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                for i in 0..50_000 {
                    v.push(Box::new([t as u64, i]));
                    if i % 7 == 0 {
                        v.swap_remove(v.len() / 2);
                    }
                }
                v.iter().all(|b| b[0] == t as u64)
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().unwrap());
    }
    heap_is_consistent();
}
