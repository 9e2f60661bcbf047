//! The initial stack, byte for byte against the System V x86_64 layout
//! (expected words computed by hand in the first test), then read back
//! by following its pointers as a C runtime would, for sizes from none to
//! 1,000 arguments and a 64 KiB environment, and the limits.

mod common;

use exec::stack::{at::*, ARG_MAX, MAX_ARG_STRLEN, PATH_MAX};
use exec::{build, AuxInfo, ExecError, InitialStack, Limits, StackSpec};

const TOP: u64 = 0x7fff_fff0_0000;

fn aux() -> AuxInfo {
    AuxInfo {
        phdr: 0x40_0040,
        phnum: 3,
        entry: 0x40_0100,
        uid: 1000,
        euid: 1000,
        gid: 100,
        egid: 100,
        secure: false,
    }
}

fn spec<'a>(argv: &'a [&'a [u8]], envp: &'a [&'a [u8]], execfn: &'a [u8]) -> StackSpec<'a> {
    let mut random = [0u8; 16];
    for (i, b) in random.iter_mut().enumerate() {
        *b = 0xa0 + i as u8;
    }
    StackSpec {
        stack_top: TOP,
        argv,
        envp,
        execfn,
        random,
        aux: aux(),
    }
}

fn word(stack: &InitialStack, addr: u64) -> u64 {
    let at = (addr - stack.base) as usize;
    u64::from_le_bytes(stack.bytes[at..at + 8].try_into().unwrap())
}

fn string(stack: &InitialStack, addr: u64) -> Vec<u8> {
    let at = (addr - stack.base) as usize;
    let len = stack.bytes[at..].iter().position(|&b| b == 0).unwrap();
    stack.bytes[at..at + len].to_vec()
}

#[test]
fn two_arguments_one_variable_byte_for_byte() {
    let argv: [&[u8]; 2] = [b"prog", b"-x"];
    let envp: [&[u8]; 1] = [b"A=1"];
    let stack = build(&spec(&argv, &envp, b"/bin/prog")).unwrap();
    // By hand: execfn "/bin/prog\0" (10 bytes) under the 8-byte end
    // marker at TOP-18; strings "prog\0-x\0A=1\0" (12) at TOP-30; random
    // at ((TOP-30) & !15) - 16 = TOP-0x30; 36 words (argc, 2+1 argv,
    // 1+1 envp, 15 aux pairs) = 0x120 bytes below it: rsp = TOP-0x150.
    let t = TOP;
    assert_eq!(stack.rsp, t - 0x150);
    assert_eq!(stack.rsp % 16, 0);
    assert_eq!(
        (stack.argv, stack.envp, stack.auxv),
        (t - 0x148, t - 0x130, t - 0x120)
    );
    assert_eq!(stack.base, t - 0x1000);
    assert_eq!(stack.bytes.len(), 0x1000);
    let expected_words: [u64; 36] = [
        2,
        t - 30,
        t - 25,
        0,
        t - 22,
        0,
        AT_PAGESZ,
        4096,
        AT_PHDR,
        0x40_0040,
        AT_PHENT,
        56,
        AT_PHNUM,
        3,
        AT_BASE,
        0,
        AT_FLAGS,
        0,
        AT_ENTRY,
        0x40_0100,
        AT_UID,
        1000,
        AT_EUID,
        1000,
        AT_GID,
        100,
        AT_EGID,
        100,
        AT_SECURE,
        0,
        AT_RANDOM,
        t - 0x30,
        AT_EXECFN,
        t - 18,
        AT_NULL,
        0,
    ];
    let mut expected: Vec<u8> = expected_words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    expected.extend((0..16).map(|i| 0xa0 + i as u8)); // AT_RANDOM at TOP-0x30
    expected.extend([0, 0]); // padding to TOP-30
    expected.extend(b"prog\0-x\0A=1\0/bin/prog\0");
    expected.extend([0; 8]); // end marker
    assert_eq!(expected.len(), 0x150);
    assert_eq!(&stack.bytes[0x1000 - 0x150..], &expected[..]);
    assert!(
        stack.bytes[..0x1000 - 0x150].iter().all(|&b| b == 0),
        "below rsp is zero"
    );
}

type Strings = Vec<Vec<u8>>;

/// Reads argc, argv, envp and auxv back by following the pointers.
fn read_back(stack: &InitialStack) -> (Strings, Strings, Vec<(u64, u64)>) {
    let argc = word(stack, stack.rsp);
    let mut at = stack.rsp + 8;
    let argv: Vec<Vec<u8>> = (0..argc)
        .map(|i| string(stack, word(stack, at + 8 * i)))
        .collect();
    at += 8 * argc;
    assert_eq!(word(stack, at), 0, "argv ends with NULL");
    at += 8;
    assert_eq!(at, stack.envp);
    let mut envp = Vec::new();
    while word(stack, at) != 0 {
        envp.push(string(stack, word(stack, at)));
        at += 8;
    }
    at += 8;
    assert_eq!(at, stack.auxv);
    let mut auxv = Vec::new();
    loop {
        let (kind, value) = (word(stack, at), word(stack, at + 8));
        auxv.push((kind, value));
        at += 16;
        if kind == AT_NULL {
            break;
        }
    }
    (argv, envp, auxv)
}

fn aux_value(auxv: &[(u64, u64)], kind: u64) -> u64 {
    auxv.iter().find(|(k, _)| *k == kind).unwrap().1
}

#[test]
fn alignment_and_round_trip_for_many_shapes() {
    for argc in 0..6usize {
        for envc in 0..4usize {
            for pad in 0..17usize {
                let args: Vec<Vec<u8>> = (0..argc)
                    .map(|i| vec![b'a' + i as u8; 1 + (i * 7 + pad) % 13])
                    .collect();
                let envs: Vec<Vec<u8>> = (0..envc)
                    .map(|i| format!("V{i}={}", "x".repeat(pad)).into_bytes())
                    .collect();
                let argv: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
                let envp: Vec<&[u8]> = envs.iter().map(|e| &e[..]).collect();
                let execfn = vec![b'/'; 1 + pad];
                let stack = build(&spec(&argv, &envp, &execfn)).unwrap();
                assert_eq!(stack.rsp % 16, 0, "argc {argc} envc {envc} pad {pad}");
                let (got_argv, got_envp, auxv) = read_back(&stack);
                let want_argv = if argc == 0 {
                    vec![Vec::new()]
                } else {
                    args.clone()
                };
                assert_eq!(got_argv, want_argv, "an empty argv gets one empty string");
                assert_eq!(got_envp, envs);
                assert_eq!(auxv.len(), 15);
                let random = aux_value(&auxv, AT_RANDOM);
                assert_eq!(random % 16, 0);
                let r = (random - stack.base) as usize;
                assert_eq!(
                    stack.bytes[r..r + 16],
                    (0..16).map(|i| 0xa0 + i as u8).collect::<Vec<_>>()[..]
                );
                assert_eq!(string(&stack, aux_value(&auxv, AT_EXECFN)), execfn);
                assert_eq!(word(&stack, TOP - 8), 0);
            }
        }
    }
}

#[test]
fn a_thousand_arguments_and_a_64k_environment() {
    let args: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("argument-{i:04}").into_bytes())
        .collect();
    let envs: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            let mut e = format!("VAR{i:02}=").into_bytes();
            e.resize(1023, b'a' + (i % 26) as u8);
            e
        })
        .collect();
    let argv: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    let envp: Vec<&[u8]> = envs.iter().map(|e| &e[..]).collect();
    assert_eq!(envs.iter().map(|e| e.len() + 1).sum::<usize>(), 64 * 1024);
    let stack = build(&spec(&argv, &envp, b"/bin/many")).unwrap();
    let (got_argv, got_envp, _) = read_back(&stack);
    assert_eq!(got_argv, args);
    assert_eq!(got_envp, envs);
    assert_eq!(stack.rsp % 16, 0);
    assert!(
        stack.pages() >= 20 && stack.pages() <= 24,
        "{} pages",
        stack.pages()
    );
}

#[test]
fn arg_max_and_string_limits() {
    // Just at ARG_MAX: strings plus one pointer each.
    let one = vec![b'x'; 1023]; // 1 KiB with the NUL, + 8 for the pointer
    let fits = ARG_MAX / (1024 + 8);
    let argv: Vec<&[u8]> = (0..fits).map(|_| &one[..]).collect();
    assert!(build(&spec(&argv, &[], b"/x")).is_ok());
    let argv: Vec<&[u8]> = (0..fits + 1).map(|_| &one[..]).collect();
    let err = build(&spec(&argv, &[], b"/x")).unwrap_err();
    assert_eq!(err, ExecError::ArgumentsTooLong);
    assert_eq!(err.errno(), 7, "E2BIG");
    let huge = vec![b'y'; MAX_ARG_STRLEN];
    assert_eq!(
        build(&spec(&[&huge[..]], &[], b"/x")),
        Err(ExecError::ArgumentsTooLong),
        "one string over MAX_ARG_STRLEN"
    );
    let path = vec![b'p'; PATH_MAX];
    assert_eq!(
        build(&spec(&[b"p"], &[], &path)),
        Err(ExecError::NameTooLong)
    );
    assert_eq!(
        build(&spec(&[b"a\0b"], &[], b"/x")),
        Err(ExecError::NulInString)
    );
    assert_eq!(
        build(&spec(&[b"a"], &[b"A=\0"], b"/x")),
        Err(ExecError::NulInString)
    );
    assert_eq!(
        build(&spec(&[b"a"], &[], b"/x\0")),
        Err(ExecError::NulInString)
    );
    let mut odd = spec(&[b"a"], &[], b"/x");
    odd.stack_top = TOP - 8;
    assert_eq!(build(&odd), Err(ExecError::BadStackTop));
    odd.stack_top = 0xffff_8000_0000_0000;
    assert_eq!(build(&odd), Err(ExecError::BadStackTop));
    odd.stack_top = 0x1000;
    assert_eq!(
        build(&odd),
        Err(ExecError::BadStackTop),
        "no room above page 0"
    );
    let big = vec![b'z'; 64 * 1024];
    let big_argv: [&[u8]; 1] = [&big];
    let low = StackSpec {
        stack_top: 0x10_000,
        ..spec(&big_argv, &[], b"/x")
    };
    assert_eq!(build(&low), Err(ExecError::BadStackTop));
    let enough = StackSpec {
        stack_top: 0x12_000,
        ..spec(&big_argv, &[], b"/x")
    };
    assert!(build(&enough).unwrap().base >= 0x1000);
}

#[test]
fn plan_and_stack_together() {
    let image = common::valid();
    let plan = exec::plan(&image, &Limits::default()).unwrap();
    let aux = plan.aux(1000, 0, 100, 100);
    assert!(aux.secure, "set-uid root: AT_SECURE");
    let mut s = spec(&[b"prog"], &[], b"/bin/prog");
    s.aux = aux;
    let stack = build(&s).unwrap();
    let (_, _, auxv) = read_back(&stack);
    assert_eq!(aux_value(&auxv, AT_PHDR), 0x40_0040);
    assert_eq!(aux_value(&auxv, AT_PHNUM), 3);
    assert_eq!(aux_value(&auxv, AT_ENTRY), plan.entry);
    assert_eq!(aux_value(&auxv, AT_SECURE), 1);
    assert_eq!(aux_value(&auxv, AT_EUID), 0);
}

/// Random stack tops and argument shapes (a fixed xorshift sequence):
/// always a stack above page 0 or an error, never a panic.
#[test]
fn random_shapes_never_panic() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pool = vec![b'q'; 70_000];
    for _ in 0..2_000 {
        let top = (next() % 0x100) * 0x1000 + if next() % 2 == 0 { 0 } else { TOP - 0x10_0000 };
        let args: Vec<&[u8]> = (0..next() % 40)
            .map(|_| &pool[..(next() % 9000) as usize])
            .collect();
        let envs: Vec<&[u8]> = (0..next() % 40)
            .map(|_| &pool[..(next() % 9000) as usize])
            .collect();
        let s = StackSpec {
            stack_top: top,
            ..spec(&args, &envs, b"/r")
        };
        if let Ok(stack) = build(&s) {
            assert!(stack.base >= 0x1000 && stack.rsp % 16 == 0);
            assert_eq!(stack.base + stack.bytes.len() as u64, top);
        }
    }
}
