//! `make new-server NAME=foo`: a new server from the templates in
//! `tests/templates/new-server/`, wired into the tree so that `make run`
//! boots with it registered. It creates
//!
//! - `libsys/src/proto/foo.rs`: the protocol (`Request`, `Reply`, the
//!   fits-a-payload check, host tests) and the client stub;
//! - `servers/foo/`: the core (`lib.rs`, with host tests) and `main.rs`;
//! - `userland/foo/`: `fooctl`, a client example;
//!
//! and edits the workspace (`Cargo.toml`), `libsys/src/proto/mod.rs`, the
//! `Makefile` (programs to build and put on the ISO), the default boot
//! manifest (start `foo`, run `fooctl` once) and `limine.cfg` (the two
//! `Microkernel` entries load both modules).
//!
//! The text edits are plain functions of the old text, tested below; the
//! file work is [`create`].

use std::fs;
use std::path::Path;

const PROTO: &str = include_str!("../templates/new-server/proto.rs");
const SERVER_CARGO: &str = include_str!("../templates/new-server/server-Cargo.toml");
const SERVER_LIB: &str = include_str!("../templates/new-server/server-lib.rs");
const SERVER_MAIN: &str = include_str!("../templates/new-server/server-main.rs");
const CLIENT_CARGO: &str = include_str!("../templates/new-server/client-Cargo.toml");
const CLIENT_MAIN: &str = include_str!("../templates/new-server/client-main.rs");

/// The limine.cfg entries that boot the system with the default manifest.
const ENTRIES: [&str; 2] = ["Microkernel", "Microkernel (placement=mono)"];

/// Checks a new server's name: a lowercase identifier of at most 15 bytes
/// (it is a crate, a module, a boot module and a registered name).
pub fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !first_ok || !rest_ok || name.len() > 15 || name.ends_with('_') {
        return Err(format!(
            "`{name}`: a server's name is a lowercase letter, then lowercase letters, digits or `_` (at most 15)"
        ));
    }
    Ok(())
}

/// `foo_bar` → `FooBar`: the core's type name.
pub fn camel(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// A template with the name filled in.
pub fn fill(template: &str, name: &str) -> String {
    template
        .replace("__Name__", &camel(name))
        .replace("__name__", name)
}

/// Adds `item` (quoted) to the TOML array on the line starting with `key = [`.
fn add_to_array(text: &str, key: &str, item: &str) -> Result<String, String> {
    let prefix = format!("{key} = [");
    let mut found = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(&prefix) && line.ends_with(']') {
                found = true;
                format!("{}, \"{item}\"]", &line[..line.len() - 1])
            } else {
                line.to_string()
            }
        })
        .collect();
    if !found {
        return Err(format!("no one-line `{key} = [...]` to add {item} to"));
    }
    Ok(lines.join("\n") + "\n")
}

/// The workspace with the server's core (a member, host-tested by default)
/// and its client (a member).
pub fn edit_workspace(text: &str, name: &str) -> Result<String, String> {
    let text = add_to_array(text, "members", &format!("servers/{name}"))?;
    let text = add_to_array(&text, "members", &format!("userland/{name}"))?;
    add_to_array(&text, "default-members", &format!("servers/{name}"))
}

/// `proto/mod.rs` with `pub mod <name>;` after the last `pub mod`.
pub fn edit_proto_mod(text: &str, name: &str) -> Result<String, String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines
        .iter()
        .rposition(|l| l.starts_with("pub mod "))
        .ok_or("no `pub mod` in libsys/src/proto/mod.rs")?;
    lines.insert(last + 1, format!("pub mod {name};"));
    Ok(lines.join("\n") + "\n")
}

/// The boot modules the Makefile builds (its `PROGRAMS`): a new server's
/// binaries must not take one of their names.
pub fn programs(makefile: &str) -> Vec<&str> {
    makefile
        .lines()
        .find_map(|l| l.strip_prefix("PROGRAMS :="))
        .map(|list| list.split_whitespace().collect())
        .unwrap_or_default()
}

/// The Makefile with the two binaries built and put on the ISO.
pub fn edit_makefile(text: &str, name: &str) -> Result<String, String> {
    let mut seen = [false; 3];
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("PROGRAMS :=") {
                seen[0] = true;
                format!("{line} {name} {name}ctl")
            } else if line.starts_with("USER_CRATES :=") {
                seen[1] = true;
                format!("{line} -p {name} -p {name}ctl")
            } else if line.starts_with("USER_FEATURES :=") {
                seen[2] = true;
                format!("{line},{name}/main")
            } else {
                line.to_string()
            }
        })
        .collect();
    if seen != [true; 3] {
        return Err("the Makefile has no PROGRAMS, USER_CRATES or USER_FEATURES line".into());
    }
    Ok(lines.join("\n") + "\n")
}

/// The default manifest, starting the server and running the client once.
pub fn edit_manifest(text: &str, name: &str) -> String {
    format!(
        "{}\n# Added by `make new-server NAME={name}`.\nserver {name} {name}\nprogram {name}ctl-demo {name}ctl -- hello from {name}ctl\n",
        text.trim_end()
    )
}

/// limine.cfg with the two modules in the `Microkernel` entries.
pub fn edit_limine_cfg(text: &str, name: &str) -> Result<String, String> {
    let mut text = text.to_string();
    for entry in ENTRIES {
        if crate::entry_number(&text, entry).is_none() {
            return Err(format!("limine.cfg has no `{entry}` entry"));
        }
        for path in [name.to_string(), format!("{name}ctl")] {
            text =
                crate::add_to_entry(&text, entry, "module_path", &format!("boot():/boot/{path}"));
        }
    }
    Ok(text)
}

/// Creates server `name` in the tree at `root`. Refuses a bad or taken
/// name before writing anything.
pub fn create(root: &Path, name: &str) -> Result<Vec<String>, String> {
    check_name(name)?;
    let server = root.join("servers").join(name);
    let client = root.join("userland").join(name);
    let proto = root.join("libsys/src/proto").join(format!("{name}.rs"));
    for taken in [&server, &client, &proto] {
        if taken.exists() {
            return Err(format!("{} exists already", taken.display()));
        }
    }
    let read = |path: &str| {
        fs::read_to_string(root.join(path)).map_err(|e| format!("cannot read {path}: {e}"))
    };
    let workspace = read("Cargo.toml")?;
    let makefile = read("Makefile")?;
    let lock = fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    for binary in [name.to_string(), format!("{name}ctl")] {
        if lock.contains(&format!("name = \"{binary}\"\n")) {
            return Err(format!("a package named `{binary}` exists already"));
        }
        if programs(&makefile).contains(&binary.as_str()) {
            return Err(format!(
                "a program named `{binary}` exists already (PROGRAMS in the Makefile)"
            ));
        }
    }
    // Every edit is computed first: a failure leaves the tree untouched.
    let edits = [
        ("Cargo.toml", edit_workspace(&workspace, name)?),
        (
            "libsys/src/proto/mod.rs",
            edit_proto_mod(&read("libsys/src/proto/mod.rs")?, name)?,
        ),
        ("Makefile", edit_makefile(&makefile, name)?),
        (
            "userland/init/manifests/manifest.default",
            edit_manifest(&read("userland/init/manifests/manifest.default")?, name),
        ),
        ("limine.cfg", edit_limine_cfg(&read("limine.cfg")?, name)?),
    ];
    let files = [
        (proto.clone(), PROTO),
        (server.join("Cargo.toml"), SERVER_CARGO),
        (server.join("src/lib.rs"), SERVER_LIB),
        (server.join("src/main.rs"), SERVER_MAIN),
        (client.join("Cargo.toml"), CLIENT_CARGO),
        (client.join("src/main.rs"), CLIENT_MAIN),
    ];
    let mut done = Vec::new();
    for (path, template) in files {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        fs::write(&path, fill(template, name))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        done.push(format!(
            "created {}",
            path.strip_prefix(root).unwrap_or(&path).display()
        ));
    }
    for (path, text) in edits {
        fs::write(root.join(path), text).map_err(|e| format!("cannot write {path}: {e}"))?;
        done.push(format!("edited  {path}"));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_identifiers() {
        for good in ["foo", "echo2", "rtc_cmos"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Foo",
            "2foo",
            "foo-bar",
            "foo bar",
            "a_very_long_server_name",
            "foo_",
            "../x",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert_eq!(camel("rtc_cmos"), "RtcCmos");
        assert_eq!(
            fill("__name__: __Name__::new()", "rtc_cmos"),
            "rtc_cmos: RtcCmos::new()"
        );
    }

    #[test]
    fn the_workspace_gets_both_crates() {
        let toml =
            "[workspace]\nmembers = [\"libsys\", \"servers/kv\"]\ndefault-members = [\"libsys\"]\n";
        let out = edit_workspace(toml, "foo").unwrap();
        assert!(out.contains(
            "members = [\"libsys\", \"servers/kv\", \"servers/foo\", \"userland/foo\"]\n"
        ));
        assert!(out.contains("default-members = [\"libsys\", \"servers/foo\"]\n"));
        assert!(edit_workspace("[workspace]\n", "foo").is_err());
    }

    #[test]
    fn proto_makefile_and_manifest_edits() {
        let out = edit_proto_mod("//! doc\n\npub mod kv;\npub mod name;\n", "foo").unwrap();
        assert!(out.ends_with("pub mod name;\npub mod foo;\n"));
        let make = "PROGRAMS := hello kv\nUSER_CRATES := -p kv\nUSER_FEATURES := kv/main\nall:\n";
        let out = edit_makefile(make, "foo").unwrap();
        assert!(out.contains("PROGRAMS := hello kv foo fooctl\n"));
        assert!(out.contains("USER_CRATES := -p kv -p foo -p fooctl\n"));
        assert!(out.contains("USER_FEATURES := kv/main,foo/main\n"));
        assert!(edit_makefile("all:\n", "foo").is_err());
        assert_eq!(programs(make), ["hello", "kv"]);
        let out = edit_manifest("server kv kv\n\n", "foo");
        assert!(out.ends_with("server foo foo\nprogram fooctl-demo fooctl -- hello from fooctl\n"));
        let entries = init::manifest::parse(&out).unwrap();
        assert_eq!(entries.len(), 3);
    }

    #[test]
    fn limine_cfg_loads_both_modules_in_both_system_entries() {
        let cfg = "timeout: 3\n\n/Microkernel\n    kernel_path: boot():/boot/kernel\n\n/Microkernel (placement=mono)\n    kernel_path: boot():/boot/kernel\n\n/test\n    cmdline: test\n";
        let out = edit_limine_cfg(cfg, "foo").unwrap();
        assert_eq!(out.matches("module_path: boot():/boot/foo\n").count(), 2);
        assert_eq!(out.matches("module_path: boot():/boot/fooctl\n").count(), 2);
        assert!(
            out.ends_with("/test\n    cmdline: test\n"),
            "other entries stay as they were"
        );
        assert!(edit_limine_cfg("/test\n", "foo").is_err());
    }
}
