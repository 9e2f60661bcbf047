use super::*;

fn fix_checksum(bytes: &mut [u8]) {
    bytes[9] = 0;
    let sum = bytes.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    bytes[9] = 0u8.wrapping_sub(sum);
}

fn put32(t: &mut [u8], at: usize, v: u32) {
    t[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(t: &mut [u8], at: usize, v: u64) {
    t[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A Generic Address Structure: space, width 8, offset 0, byte access.
fn put_gas(t: &mut [u8], at: usize, space: u8, address: u64) {
    t[at..at + 4].copy_from_slice(&[space, 8, 0, 1]);
    put64(t, at + 4, address);
}

/// A table of `len` bytes with `signature`, its length and checksum set
/// after `fill` wrote the fields.
fn table(signature: &[u8; 4], revision: u8, len: usize, fill: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut t = vec![0u8; len];
    t[..4].copy_from_slice(signature);
    put32(&mut t, 4, len as u32);
    t[8] = revision;
    fill(&mut t);
    fix_checksum(&mut t);
    t
}

/// A FADT as QEMU's q35 machine builds it (revision 3, 244 bytes): the
/// ICH9 PM block at 0x600 (PM1a_CNT 0x604), SMI_CMD 0xb2 enabling with
/// 0xf1, the reset register 0xcf9 with 0x6, the X_ fields filled.
fn q35_fadt() -> Vec<u8> {
    table(b"FACP", 3, 244, |t| {
        put32(t, DSDT, 0x7fe4_0040);
        put32(t, SMI_CMD, 0xb2);
        t[ACPI_ENABLE] = 0xf1;
        t[ACPI_ENABLE + 1] = 0xf0;
        put32(t, 56, 0x600); // PM1a_EVT_BLK
        put32(t, PM1A_CNT_BLK, 0x604);
        put32(t, FLAGS, RESET_REG_SUP | 0x1a5);
        put_gas(t, RESET_REG, 1, 0xcf9);
        t[RESET_VALUE] = 0x6;
        put_gas(t, X_PM1A_CNT_BLK, 1, 0x604);
    })
}

/// QEMU's DSDT bytes for `Name (_S5, Package (4) { 0, 0, 0, 0 })`.
const QEMU_S5: &[u8] = &[0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0, 0, 0, 0];

fn dsdt(aml: &[u8]) -> Vec<u8> {
    table(b"DSDT", 1, SDT_HEADER_LEN + aml.len(), |t| {
        t[SDT_HEADER_LEN..].copy_from_slice(aml)
    })
}

#[test]
fn reads_qemu_q35_fadt() {
    let fadt = parse_fadt(&q35_fadt()).unwrap();
    assert_eq!(
        fadt,
        Fadt {
            revision: 3,
            dsdt: 0x7fe4_0040,
            acpi_enable: Some((0xb2, 0xf1)),
            pm1a_control: Some(Register::Io(0x604)),
            pm1b_control: None,
            sleep_control: None,
            reset: Some(Reset {
                register: Register::Io(0xcf9),
                value: 6
            }),
            hardware_reduced: false,
        }
    );
    let off = power_off(&fadt, sleep_type_s5(&dsdt(QEMU_S5)));
    assert_eq!(
        off,
        Ok(PowerOff::Pm1 {
            pm1a: Register::Io(0x604),
            pm1b: None,
            sleep: SleepType { a: 0, b: 0 }
        })
    );
    assert_eq!(
        Summary {
            fadt: &fadt,
            off: &off
        }
        .to_string(),
        "FADT rev 3: power off with S5 type 0/0 to PM1a_CNT 0x604; \
         reset with 0x6 to 0xcf9; ACPI mode with 0xf1 to SMI_CMD 0xb2"
    );
}

#[test]
fn reads_an_acpi_1_fadt_without_reset_or_x_fields() {
    let t = table(b"FACP", 1, FADT_V1_LEN, |t| {
        put32(t, DSDT, 0x1000);
        put32(t, PM1A_CNT_BLK, 0x4004);
        put32(t, PM1B_CNT_BLK, 0x4104);
        put32(t, FLAGS, RESET_REG_SUP);
    });
    let fadt = parse_fadt(&t).unwrap();
    assert_eq!(fadt.revision, 1);
    assert_eq!(fadt.dsdt, 0x1000);
    assert_eq!(fadt.acpi_enable, None, "SMI_CMD 0: no switch to ACPI mode");
    assert_eq!(fadt.pm1a_control, Some(Register::Io(0x4004)));
    assert_eq!(fadt.pm1b_control, Some(Register::Io(0x4104)));
    assert_eq!(fadt.reset, None, "revision 1 has no reset register");
    let off = power_off(&fadt, Ok(SleepType { a: 7, b: 5 }));
    let text = Summary {
        fadt: &fadt,
        off: &off,
    }
    .to_string();
    assert_eq!(
        text,
        "FADT rev 1: power off with S5 type 7/5 to PM1a_CNT 0x4004 and PM1b_CNT 0x4104; \
         no reset register"
    );
}

#[test]
fn x_fields_win_when_present_and_set() {
    let t = table(b"FACP", 5, 276, |t| {
        put32(t, DSDT, 0x1000);
        put64(t, X_DSDT, 0x1_2345_6000);
        put32(t, PM1A_CNT_BLK, 0x404);
        put_gas(t, X_PM1A_CNT_BLK, 0, 0xfed8_0804);
        put32(t, PM1B_CNT_BLK, 0x504);
        // An X_PM1b in PCI configuration space is unusable: the 32-bit
        // field stands.
        put_gas(t, X_PM1B_CNT_BLK, 2, 0x1234);
        put32(t, FLAGS, RESET_REG_SUP);
        put_gas(t, RESET_REG, 0, 0xfed8_0000);
        t[RESET_VALUE] = 0x0e;
    });
    let fadt = parse_fadt(&t).unwrap();
    assert_eq!(fadt.dsdt, 0x1_2345_6000);
    assert_eq!(fadt.pm1a_control, Some(Register::Memory(0xfed8_0804)));
    assert_eq!(fadt.pm1b_control, Some(Register::Io(0x504)));
    assert_eq!(
        fadt.reset,
        Some(Reset {
            register: Register::Memory(0xfed8_0000),
            value: 0x0e
        })
    );
    assert_eq!(
        Register::Memory(0xfed8_0000).to_string(),
        "memory 0xfed80000"
    );
}

#[test]
fn reset_needs_revision_2_the_flag_and_a_usable_address() {
    let with = |revision: u8, flags: u32, space: u8, address: u64| {
        let t = table(b"FACP", revision, 244, |t| {
            put32(t, FLAGS, flags);
            put_gas(t, RESET_REG, space, address);
            t[RESET_VALUE] = 6;
        });
        parse_fadt(&t).unwrap().reset
    };
    assert!(with(2, RESET_REG_SUP, 1, 0xcf9).is_some());
    assert_eq!(with(1, RESET_REG_SUP, 1, 0xcf9), None, "revision 1");
    assert_eq!(with(3, 0, 1, 0xcf9), None, "no RESET_REG_SUP");
    assert_eq!(with(3, RESET_REG_SUP, 1, 0), None, "address 0");
    assert_eq!(with(3, RESET_REG_SUP, 2, 0xcf9), None, "PCI config space");
    assert_eq!(
        with(3, RESET_REG_SUP, 1, 0x1_0000),
        None,
        "port above 0xffff"
    );
}

#[test]
fn hardware_reduced_machines_use_the_sleep_control_register() {
    let t = table(b"FACP", 6, 276, |t| {
        put32(t, FLAGS, HW_REDUCED_ACPI);
        put_gas(t, SLEEP_CONTROL_REG, 1, 0x1804);
    });
    let fadt = parse_fadt(&t).unwrap();
    assert!(fadt.hardware_reduced);
    let off = power_off(&fadt, Ok(SleepType { a: 5, b: 0 }));
    assert_eq!(
        off,
        Ok(PowerOff::SleepControl {
            register: Register::Io(0x1804),
            sleep_type: 5
        })
    );
    assert_eq!(sleep_control(5), 0b0011_0100);
    let bare = parse_fadt(&table(b"FACP", 6, 276, |_| {})).unwrap();
    let none = power_off(&bare, Ok(SleepType { a: 5, b: 0 }));
    assert_eq!(none, Err(NoPowerOff::NoControlRegister));
    assert!(Summary {
        fadt: &bare,
        off: &none
    }
    .to_string()
    .starts_with("FADT rev 6: no power off (the FADT has no PM1a control block"));
    assert_eq!(
        power_off(&fadt, Err(S5Error::NotFound)),
        Err(NoPowerOff::NoS5(S5Error::NotFound))
    );
}

#[test]
fn bad_fadts_are_errors() {
    let good = q35_fadt();
    // Every prefix: an error, never a panic.
    for len in 0..good.len() {
        assert!(parse_fadt(&good[..len]).is_err(), "{len} bytes");
    }
    assert_eq!(
        parse_fadt(&good[..40]),
        Err(FadtError::Truncated {
            length: 40,
            needed: 244
        })
    );
    let mut apic = good.clone();
    apic[..4].copy_from_slice(b"APIC");
    assert_eq!(parse_fadt(&apic), Err(FadtError::WrongSignature(*b"APIC")));
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        parse_fadt(&longer),
        Err(FadtError::LengthMismatch {
            header: 244,
            bytes: 245
        })
    );
    let mut flipped = good.clone();
    flipped[PM1A_CNT_BLK] ^= 1;
    assert_eq!(parse_fadt(&flipped), Err(FadtError::BadChecksum));
    let short = table(b"FACP", 1, 100, |_| {});
    assert_eq!(
        parse_fadt(&short),
        Err(FadtError::Truncated {
            length: 100,
            needed: FADT_V1_LEN
        })
    );
    assert!(FadtError::BadChecksum.to_string().contains("checksum"));
}

#[test]
fn finds_s5_in_its_encodings() {
    let s5 = |aml: &[u8]| sleep_type_in_aml(aml);
    assert_eq!(s5(QEMU_S5), Ok(SleepType { a: 0, b: 0 }));
    // `\_S5_` with BytePrefix values (common firmware), then two more
    // elements, after other AML.
    let mut aml = vec![0x10, 0x05, 0x5c, 0x00, 0x00]; // Scope (\) {}
    aml.extend([0x08, b'\\', b'_', b'S', b'5', b'_', 0x12, 0x08, 0x04]);
    aml.extend([0x0a, 0x07, 0x0a, 0x05, 0x00, 0x00]);
    assert_eq!(s5(&aml), Ok(SleepType { a: 7, b: 5 }));
    // `^_S5_`, One, WordPrefix.
    let aml = [
        0x08, b'^', b'_', b'S', b'5', b'_', 0x12, 0x06, 0x02, 0x01, 0x0b, 0x06, 0x00,
    ];
    assert_eq!(s5(&aml), Ok(SleepType { a: 1, b: 6 }));
    // DWordPrefix and QWordPrefix.
    let mut aml = vec![0x08, b'_', b'S', b'5', b'_', 0x12, 0x10, 0x02];
    aml.extend([0x0c, 0x03, 0, 0, 0, 0x0e, 0x04, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(s5(&aml), Ok(SleepType { a: 3, b: 4 }));
    // One integer holding both types (low byte a, next byte b).
    let aml = [
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x05, 0x01, 0x0b, 0x05, 0x07,
    ];
    assert_eq!(s5(&aml), Ok(SleepType { a: 5, b: 7 }));
    // A two-byte PkgLength (bits 6-7 = 1).
    let mut aml = vec![
        0x08, b'_', b'S', b'5', b'_', 0x12, 0x40, 0x04, 0x02, 0x0a, 0x02, 0x0a, 0x03,
    ];
    aml.resize(6 + 0x40, 0xa3); // the rest of the package: Noop
    assert_eq!(s5(&aml), Ok(SleepType { a: 2, b: 3 }));
    // `_S5_` after a byte 0x08 that is not a NameOp (here a method's
    // PkgLength), before its real declaration.
    let mut aml = vec![0x14, 0x08, b'_', b'S', b'5', b'_', 0x00];
    aml.extend(QEMU_S5);
    assert_eq!(s5(&aml), Ok(SleepType { a: 0, b: 0 }));
    // Through a whole table.
    assert_eq!(sleep_type_s5(&dsdt(QEMU_S5)), Ok(SleepType { a: 0, b: 0 }));
}

#[test]
fn bad_s5_packages_are_errors() {
    let s5 = |aml: &[u8]| sleep_type_in_aml(aml);
    assert_eq!(s5(b""), Err(S5Error::NotFound));
    assert_eq!(s5(b"_S5_\x12\x06\x04\0\0\0\0"), Err(S5Error::NotFound));
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x0a, 0x05]),
        Err(S5Error::NotAPackage(0x0a))
    );
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x02, 0x00]),
        Err(S5Error::NoElements)
    );
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0x00, 0x5b]),
        Err(S5Error::NotAnInteger(0x5b))
    );
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0xff, 0x00]),
        Err(S5Error::OutOfRange(u64::MAX)),
        "Ones"
    );
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x05, 0x02, 0x0a, 0x08, 0x00]),
        Err(S5Error::OutOfRange(8))
    );
    // A PkgLength with bits 4-5 set beside a following byte.
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x74, 0x00, 0x02, 0x00, 0x00]),
        Err(S5Error::BadPkgLength)
    );
    // A PkgLength shorter than its own bytes and the count.
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x01, 0x02, 0x00, 0x00]),
        Err(S5Error::BadPkgLength)
    );
    // The package claims more than is there; an element cut short.
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x20, 0x02, 0x00, 0x00]),
        Err(S5Error::Truncated)
    );
    assert_eq!(
        s5(&[0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x02, 0x00, 0x0b, 0x01]),
        Err(S5Error::Truncated)
    );
    // Every prefix of a good package: an error, never a panic.
    for len in 0..QEMU_S5.len() {
        assert!(s5(&QEMU_S5[..len]).is_err(), "{len} bytes");
    }
    // A DSDT whose checksum or signature is wrong is not read.
    let mut bad = dsdt(QEMU_S5);
    bad[SDT_HEADER_LEN + 7] = 1;
    assert_eq!(sleep_type_s5(&bad), Err(S5Error::BadTable));
    let mut ssdt = dsdt(QEMU_S5);
    ssdt[..4].copy_from_slice(b"SSDT");
    assert_eq!(sleep_type_s5(&ssdt), Err(S5Error::BadTable));
    assert!(S5Error::NotFound.to_string().contains("_S5_"));
    let no_dsdt = Summary {
        fadt: &parse_fadt(&q35_fadt()).unwrap(),
        off: &Err(NoPowerOff::NoS5(S5Error::NoDsdt)),
    }
    .to_string();
    assert!(
        no_dsdt.contains("no power off (the FADT gives no DSDT that can be read)"),
        "{no_dsdt}"
    );
}

#[test]
fn pkg_length_encodings() {
    assert_eq!(pkg_length(&[0x3f]), Ok((0x3f, 1)));
    assert_eq!(pkg_length(&[0x41, 0x02]), Ok((0x21, 2)));
    assert_eq!(pkg_length(&[0x8f, 0xff, 0x01]), Ok((0x1fff, 3)));
    assert_eq!(pkg_length(&[0xc1, 0x00, 0x00, 0x10]), Ok((0x100_0001, 4)));
    assert_eq!(pkg_length(&[0xc1, 0x00, 0x00]), Err(S5Error::Truncated));
    assert_eq!(pkg_length(&[]), Err(S5Error::Truncated));
    assert_eq!(pkg_length(&[0x50, 0x00]), Err(S5Error::BadPkgLength));
}

#[test]
fn pm1_control_keeps_other_bits() {
    // SCI_EN kept, SLP_TYP replaced, SLP_EN only when asked.
    assert_eq!(pm1_control(SCI_EN, 5, false), 0x1401);
    assert_eq!(pm1_control(SCI_EN, 5, true), 0x3401);
    assert_eq!(pm1_control(0xffff, 0, true), 0xe3ff | SLP_EN);
    assert_eq!(pm1_control(0, 0, true), SLP_EN);
    assert_eq!(pm1_control(0, 0xff, false), SLP_TYP_MASK, "3 bits only");
}

/// Bytes from a small LCG (no dependency for a test this size).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn garbage_never_panics() {
    for seed in 0..2000u64 {
        let bytes = noise(seed, (seed as usize * 7) % 300);
        let _ = parse_fadt(&bytes);
        let _ = sleep_type_in_aml(&bytes);
        let _ = sleep_type_s5(&bytes);
        // Garbage after a plausible head: a FACP header and a NameOp _S5_.
        let mut fadt = q35_fadt();
        let n = fadt.len();
        fadt[36..n].copy_from_slice(&noise(seed, n - 36));
        fix_checksum(&mut fadt);
        let _ = parse_fadt(&fadt);
        let mut aml = QEMU_S5[..6].to_vec();
        aml.extend(noise(seed, (seed as usize) % 40));
        let _ = sleep_type_in_aml(&aml);
    }
}
