//! The generator behind `/dev/random` and `/dev/urandom`: ChaCha20
//! (RFC 8439) as a keyed stream with fast key erasure, the construction
//! Linux's `crng` uses (drivers/char/random.c) and Bernstein describes
//! ("Fast-key-erasure random-number generators", 2017).
//!
//! - **Output.** Each request runs ChaCha20 with the current key from
//!   block 0; the first 32 bytes of the stream become the next key and
//!   the rest is the caller's. A key is used for one request only and is
//!   overwritten before the bytes leave, so a later reading of the state
//!   cannot recover what was handed out earlier (backtracking resistance).
//! - **Input.** [`Crng::mix`] folds bytes of entropy into the key: each
//!   32-byte chunk is XORed into the key, which is then replaced by the
//!   first 32 bytes of its own ChaCha20 block (a one-way step, so what was
//!   mixed cannot be read back and a weak input cannot cancel a strong one).
//! - **Seeding** is the server's business (`main.rs`): the CPU's `RDRAND`
//!   when it has one, the TSC sampled around system calls whose duration
//!   varies, and the wall clock; later writes to `/dev/random` are mixed in
//!   as Linux mixes them (without crediting entropy). `/dev/random` does not
//!   block once seeded, as Linux's has not since 5.6.

/// The ChaCha20 state's four constant words ("expand 32-byte k").
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Bytes of one ChaCha20 block.
pub const BLOCK: usize = 64;

fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// One ChaCha20 block (RFC 8439 section 2.3): 20 rounds over the key,
/// the block counter and the nonce, added to the input state.
pub fn chacha20_block(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u8; BLOCK] {
    let word = |b: &[u8], i: usize| {
        u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
    };
    let mut input = [0u32; 16];
    input[..4].copy_from_slice(&SIGMA);
    for i in 0..8 {
        input[4 + i] = word(key, i);
    }
    input[12] = counter;
    for i in 0..3 {
        input[13 + i] = word(nonce, i);
    }
    let mut s = input;
    for _ in 0..10 {
        quarter_round(&mut s, 0, 4, 8, 12);
        quarter_round(&mut s, 1, 5, 9, 13);
        quarter_round(&mut s, 2, 6, 10, 14);
        quarter_round(&mut s, 3, 7, 11, 15);
        quarter_round(&mut s, 0, 5, 10, 15);
        quarter_round(&mut s, 1, 6, 11, 12);
        quarter_round(&mut s, 2, 7, 8, 13);
        quarter_round(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; BLOCK];
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&s[i].wrapping_add(input[i]).to_le_bytes());
    }
    out
}

/// The generator's state: a key, and whether anything was mixed in yet.
pub struct Crng {
    key: [u8; 32],
    /// Requests served (the nonce, so two requests never share a stream
    /// even if a key repeated).
    generation: u64,
    seeded: bool,
}

impl Default for Crng {
    fn default() -> Self {
        Crng::new()
    }
}

impl Crng {
    /// An unseeded generator (all-zero key): [`Crng::mix`] before use.
    pub const fn new() -> Crng {
        Crng {
            key: [0; 32],
            generation: 0,
            seeded: false,
        }
    }

    /// Whether any input was mixed in.
    pub fn is_seeded(&self) -> bool {
        self.seeded
    }

    /// Folds `input` into the key, 32 bytes at a time (the last chunk
    /// zero-padded, its length mixed in so `ab` and `ab\0` differ).
    pub fn mix(&mut self, input: &[u8]) {
        for chunk in input.chunks(32) {
            for (k, b) in self.key.iter_mut().zip(chunk) {
                *k ^= b;
            }
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(chunk.len() as u64).to_le_bytes());
            nonce[8..].copy_from_slice(b"mix!");
            let block = chacha20_block(&self.key, 0, &nonce);
            self.key.copy_from_slice(&block[..32]);
        }
        self.seeded |= !input.is_empty();
    }

    /// Fills `out` with the generator's stream, re-keying first (fast key
    /// erasure).
    pub fn fill(&mut self, out: &mut [u8]) {
        self.generation = self.generation.wrapping_add(1);
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&self.generation.to_le_bytes());
        let key = self.key;
        let first = chacha20_block(&key, 0, &nonce);
        self.key.copy_from_slice(&first[..32]);
        let mut filled = 0;
        let head = (BLOCK - 32).min(out.len());
        out[..head].copy_from_slice(&first[32..32 + head]);
        filled += head;
        let mut counter = 1u32;
        while filled < out.len() {
            let block = chacha20_block(&key, counter, &nonce);
            let n = (out.len() - filled).min(BLOCK);
            out[filled..filled + n].copy_from_slice(&block[..n]);
            filled += n;
            counter = counter.wrapping_add(1);
            if counter == 0 {
                // 256 GiB from one key: take a fresh one and go on.
                return self.fill(&mut out[filled..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> alloc::vec::Vec<u8> {
        let s: alloc::string::String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 8439, 2.3.2: the block function's test vector.
    #[test]
    fn rfc8439_block_vector() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let nonce: [u8; 12] = [0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0];
        let block = chacha20_block(&key, 1, &nonce);
        let want = hex("10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4
             c7 d1 f4 c7 33 c0 68 03 04 22 aa 9a c3 d4 6c 4e
             d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2
             b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e");
        assert_eq!(&block[..], &want[..]);
    }

    /// Two requests differ, the key changes with each (erasure), and a
    /// long request is not one block repeated.
    #[test]
    fn outputs_differ_and_key_is_erased() {
        let mut g = Crng::new();
        assert!(!g.is_seeded());
        g.mix(b"seed material");
        assert!(g.is_seeded());
        let key0 = g.key;
        let mut a = [0u8; 200];
        let mut b = [0u8; 200];
        g.fill(&mut a);
        assert_ne!(g.key, key0);
        g.fill(&mut b);
        assert_ne!(a, b);
        assert_ne!(a[..64], a[64..128]);
        // A byte-count sanity check: no value is wildly over-represented.
        let mut big = alloc::vec![0u8; 1 << 16];
        g.fill(&mut big);
        let mut counts = [0u32; 256];
        for &x in &big {
            counts[x as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (150..370).contains(&c)),
            "{counts:?}"
        );
    }

    /// Different seeds give different streams; the same seed the same.
    #[test]
    fn seeds_decide_the_stream() {
        let out = |seed: &[u8]| {
            let mut g = Crng::new();
            g.mix(seed);
            let mut o = [0u8; 32];
            g.fill(&mut o);
            o
        };
        assert_eq!(out(b"one"), out(b"one"));
        assert_ne!(out(b"one"), out(b"two"));
        assert_ne!(out(b"ab"), out(b"ab\0"));
    }
}
