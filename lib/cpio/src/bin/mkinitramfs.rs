//! `mkinitramfs`: builds an initramfs from `gen_init_cpio`-style lists
//! (see the `spec` module), or lists an archive's entries.
//!
//! ```text
//! mkinitramfs [--crc] [--mtime SECONDS] -o OUT LIST...
//! mkinitramfs -t ARCHIVE
//! ```
//!
//! The lists are read in order into one archive, each file's location
//! relative to the current directory. Every entry gets the mtime given,
//! else `$SOURCE_DATE_EPOCH`, else 0, so the output is a function of the
//! lists and the files alone. OUT is replaced only once the archive is
//! complete. `-t` prints one line per entry, like `cpio -t -v`, after
//! checking the whole archive with the same reader the guest uses.

use cpio::header::ls_mode;
use cpio::spec;
use cpio::{Archive, FileType, Format, Writer};
use std::env;
use std::fs;
use std::io::Write;
use std::process::ExitCode;

const USAGE: &str =
    "usage: mkinitramfs [--crc] [--mtime SECONDS] -o OUT LIST...\n       mkinitramfs -t ARCHIVE";

/// What the command line asks for.
enum Command {
    Build {
        format: Format,
        mtime: Option<u32>,
        out: String,
        lists: Vec<String>,
    },
    List(String),
}

fn parse_args(args: &[String]) -> Result<Command, String> {
    if let [flag, archive] = args {
        if flag == "-t" {
            return Ok(Command::List(archive.clone()));
        }
    }
    let (mut format, mut mtime, mut out, mut lists) = (Format::Newc, None, None, Vec::new());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--crc" => format = Format::Crc,
            "--mtime" => {
                let value = args.next().ok_or("--mtime needs a value")?;
                mtime = Some(seconds(value)?);
            }
            "-o" => out = Some(args.next().ok_or("-o needs a file")?.clone()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            list => lists.push(list.to_string()),
        }
    }
    let out = out.ok_or("no -o OUT")?;
    if lists.is_empty() {
        return Err("no list".into());
    }
    Ok(Command::Build {
        format,
        mtime,
        out,
        lists,
    })
}

fn seconds(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a time in seconds (0 to 4294967295)"))
}

fn build(format: Format, mtime: Option<u32>, out: &str, lists: &[String]) -> Result<(), String> {
    let mtime = match (mtime, env::var("SOURCE_DATE_EPOCH")) {
        (Some(t), _) => t,
        (None, Ok(epoch)) => seconds(&epoch).map_err(|e| format!("SOURCE_DATE_EPOCH: {e}"))?,
        (None, Err(_)) => 0,
    };
    let mut writer = Writer::new(format).with_mtime(mtime);
    for list in lists {
        let text = fs::read_to_string(list).map_err(|e| format!("{list}: {e}"))?;
        let lines = spec::parse(&text).map_err(|e| format!("{list}: {e}"))?;
        spec::build(&lines, &mut writer, |at| fs::read(at)).map_err(|e| format!("{list}: {e}"))?;
    }
    let archive = writer.finish();
    // Checked by the reader the guest uses before anything is replaced.
    Archive::new(&archive)
        .check()
        .map_err(|e| format!("the archive built does not read back: {e}"))?;
    let partial = format!("{out}.partial");
    fs::write(&partial, &archive).map_err(|e| format!("{partial}: {e}"))?;
    fs::rename(&partial, out).map_err(|e| format!("{out}: {e}"))
}

fn list(path: &str) -> Result<(), String> {
    let bytes = fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let archive = Archive::new(&bytes);
    archive.check().map_err(|e| format!("{path}: {e}"))?;
    let mut out = std::io::stdout().lock();
    for entry in archive.entries().flatten() {
        let size = match entry.file_type {
            FileType::CharDevice | FileType::BlockDevice => {
                format!("{}, {}", entry.rdev_major, entry.rdev_minor)
            }
            _ => entry.data.len().to_string(),
        };
        let mut line = format!(
            "{} {:>4} {:>5} {:>5} {:>9} {}",
            ls_mode(entry.file_type, entry.perm),
            entry.nlink,
            entry.uid,
            entry.gid,
            size,
            entry.name
        );
        if let Some(target) = entry.symlink_target() {
            line += &format!(" -> {target}");
        }
        if let Some(first) = &entry.link {
            line += &format!(" link to {first}");
        }
        // A closed pipe (`| head`) ends the listing quietly.
        if writeln!(out, "{line}").is_err() {
            break;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match parse_args(&args) {
        Ok(Command::Build {
            format,
            mtime,
            out,
            lists,
        }) => build(format, mtime, &out, &lists),
        Ok(Command::List(archive)) => list(&archive),
        Err(why) => Err(format!("{why}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("mkinitramfs: {why}");
            ExitCode::FAILURE
        }
    }
}
