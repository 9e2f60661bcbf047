//! Parser for Limine's configuration file (`limine.conf`), the subset this
//! project's loader implements.
//!
//! The grammar, from Limine's `CONFIG.md`: `#` starts a comment line; a line
//! `${NAME}=value` defines a macro that later values may use as `${NAME}`;
//! `key: value` sets an option (keys are case-insensitive); a line `/Name`
//! starts a boot entry. Options before the first entry are global.
//!
//! What is not implemented is an error naming the line, never a silent
//! misreading: sub-entries (`//Name`), other protocols, resources other than
//! `boot()`, `#hash` path suffixes. Limine's own user-interface options are
//! accepted and ignored (they concern Limine's menu, not the kernel).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// How long the menu waits before booting the default entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// `timeout: 0`: boot the default entry at once, no menu.
    Immediate,
    Seconds(u32),
    /// `timeout: no`: wait for a key forever.
    Never,
}

/// A path inside the boot volume, from `boot():/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootPath(String);

/// A module: a file the loader hands to the kernel as-is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSpec {
    pub path: BootPath,
    pub cmdline: String,
}

/// One boot entry (a `/Name` section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub comment: Option<String>,
    pub kernel_path: BootPath,
    pub cmdline: String,
    pub modules: Vec<ModuleSpec>,
    /// The line the entry starts on (1-based).
    pub line: usize,
}

/// A whole, checked configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub timeout: Timeout,
    /// 1-based, as written in the file; always names an existing entry.
    pub default_entry: usize,
    pub serial: bool,
    pub entries: Vec<Entry>,
}

impl Config {
    /// The 0-based index of the default entry.
    pub fn default_entry_index(&self) -> usize {
        self.default_entry - 1
    }

    /// The 0-based index of the entry with this name, if there is one.
    pub fn entry_named(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|entry| entry.name == name)
    }
}

/// What is wrong with a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// Nothing but blank lines and comments.
    Empty,
    /// Options, but no `/Entry`.
    NoEntries,
    /// A line that is not a comment, an entry, a macro or `key: value`.
    MissingColon,
    UnknownKey(String),
    /// A per-entry option before the first entry.
    EntryKeyOutsideEntry(String),
    /// A global option inside an entry.
    GlobalKeyInEntry(String),
    DuplicateKey(String),
    EmptyEntryName,
    SubEntriesUnsupported,
    UnsupportedProtocol(String),
    MissingProtocol(String),
    MissingKernelPath(String),
    ModuleCmdlineWithoutModule,
    BadTimeout(String),
    BadDefaultEntry(String),
    /// `default_entry` names an entry that does not exist.
    DefaultEntryOutOfRange {
        default_entry: usize,
        entries: usize,
    },
    BadBoolean(String),
    UndefinedMacro(String),
    BadMacro,
    /// A path with no `resource():` part, or not of the form we accept.
    BadPath(String),
    UnsupportedResource(String),
    HashUnsupported(String),
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigErrorKind::*;
        match self {
            Empty => write!(f, "the file is empty"),
            NoEntries => write!(f, "no boot entries (lines starting with `/`)"),
            MissingColon => write!(f, "expected `key: value`, `/Entry name` or a `#` comment"),
            UnknownKey(key) => write!(f, "unknown key `{key}`"),
            EntryKeyOutsideEntry(key) => write!(f, "`{key}` belongs inside an entry"),
            GlobalKeyInEntry(key) => write!(
                f,
                "`{key}` is a global option; put it before the first entry"
            ),
            DuplicateKey(key) => write!(f, "`{key}` given twice in one entry"),
            EmptyEntryName => write!(f, "an entry needs a name after `/`"),
            SubEntriesUnsupported => write!(f, "sub-entries (`//Name`) are not supported"),
            UnsupportedProtocol(p) => write!(f, "protocol `{p}` is not supported (only `limine`)"),
            MissingProtocol(name) => write!(f, "entry `{name}` has no `protocol: limine`"),
            MissingKernelPath(name) => write!(f, "entry `{name}` has no `kernel_path`"),
            ModuleCmdlineWithoutModule => write!(f, "`module_cmdline` before any `module_path`"),
            BadTimeout(v) => write!(f, "timeout `{v}` is neither a number of seconds nor `no`"),
            BadDefaultEntry(v) => {
                write!(f, "default_entry `{v}` is not an entry number (1, 2, ...)")
            }
            DefaultEntryOutOfRange {
                default_entry,
                entries,
            } => {
                write!(
                    f,
                    "default_entry {default_entry} but there are only {entries} entries"
                )
            }
            BadBoolean(v) => write!(f, "`{v}` is neither `yes` nor `no`"),
            UndefinedMacro(name) => write!(f, "macro `${{{name}}}` is not defined"),
            BadMacro => write!(f, "a macro definition must read `${{NAME}}=value`"),
            BadPath(p) => write!(f, "bad path `{p}`: expected `boot():/absolute/path`"),
            UnsupportedResource(r) => write!(f, "resource `{r}` is not supported (only `boot()`)"),
            HashUnsupported(p) => write!(
                f,
                "path `{p}` has a `#hash` suffix; hash checks are not supported"
            ),
        }
    }
}

/// An error and the line it is on (1-based; 0 when it concerns the whole file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub kind: ConfigErrorKind,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "line {}: {}", self.line, self.kind)
        }
    }
}

impl BootPath {
    /// Parses `boot():/abs/path`. Only the `boot()` resource (the volume the
    /// loader came from) is supported; the path must be absolute and clean.
    pub fn parse(value: &str) -> Result<BootPath, ConfigErrorKind> {
        let bad = || ConfigErrorKind::BadPath(value.to_string());
        // `resource(argument):path`; the argument may itself hold colons.
        let (resource, path) = value.split_once("):").ok_or_else(bad)?;
        if !resource.contains('(') {
            return Err(bad());
        }
        if resource != "boot(" {
            return Err(ConfigErrorKind::UnsupportedResource(alloc::format!(
                "{resource})"
            )));
        }
        if path.contains('#') {
            return Err(ConfigErrorKind::HashUnsupported(value.to_string()));
        }
        let components = path.strip_prefix('/').ok_or_else(bad)?;
        if path.contains('\\') || components.is_empty() {
            return Err(bad());
        }
        if components
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(bad());
        }
        Ok(BootPath(path.to_string()))
    }

    /// The path inside the volume, starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The same path as UEFI's file protocol wants it (`\boot\kernel`).
    pub fn to_uefi_path(&self) -> String {
        self.0.replace('/', "\\")
    }
}

/// Global options of Limine's own menu and terminal that do not concern the
/// kernel: accepted and ignored.
const IGNORED_GLOBAL_KEYS: &[&str] = &[
    "verbose",
    "quiet",
    "remember_last_entry",
    "graphics",
    "wallpaper",
    "wallpaper_style",
    "backdrop",
    "interface_resolution",
    "interface_branding",
    "interface_branding_colour",
    "interface_branding_color",
    "interface_help_hidden",
    "editor_enabled",
    "hash_mismatch_panic",
    "randomise_memory",
    "randomize_memory",
    "serial_baudrate",
];

/// Per-entry options that only matter to other protocols or to features we
/// do not implement (KASLR needs a relocatable kernel).
const IGNORED_ENTRY_KEYS: &[&str] = &["kaslr", "resolution", "textmode", "dtb_path", "paging_mode"];

const GLOBAL_KEYS: &[&str] = &["timeout", "default_entry", "serial"];
const ENTRY_KEYS: &[&str] = &[
    "protocol",
    "kernel_path",
    "path",
    "cmdline",
    "kernel_cmdline",
    "module_path",
    "module_cmdline",
    "comment",
];

fn is_global_key(key: &str) -> bool {
    GLOBAL_KEYS.contains(&key) || IGNORED_GLOBAL_KEYS.contains(&key) || key.starts_with("term_")
}

fn is_entry_key(key: &str) -> bool {
    ENTRY_KEYS.contains(&key) || IGNORED_ENTRY_KEYS.contains(&key)
}

/// An entry while it is being read.
#[derive(Default)]
struct Draft {
    name: String,
    line: usize,
    comment: Option<String>,
    protocol: Option<String>,
    kernel_path: Option<BootPath>,
    cmdline: Option<String>,
    modules: Vec<ModuleSpec>,
}

impl Draft {
    fn finish(self) -> Result<Entry, ConfigError> {
        let at = |kind| ConfigError {
            line: self.line,
            kind,
        };
        if self.protocol.is_none() {
            return Err(at(ConfigErrorKind::MissingProtocol(self.name.clone())));
        }
        let Some(kernel_path) = self.kernel_path else {
            return Err(at(ConfigErrorKind::MissingKernelPath(self.name.clone())));
        };
        Ok(Entry {
            name: self.name,
            comment: self.comment,
            kernel_path,
            cmdline: self.cmdline.unwrap_or_default(),
            modules: self.modules,
            line: self.line,
        })
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigErrorKind> {
        fn once<T>(slot: &mut Option<T>, key: &str, value: T) -> Result<(), ConfigErrorKind> {
            if slot.is_some() {
                return Err(ConfigErrorKind::DuplicateKey(key.to_string()));
            }
            *slot = Some(value);
            Ok(())
        }
        match key {
            "protocol" => {
                if !value.eq_ignore_ascii_case("limine") {
                    return Err(ConfigErrorKind::UnsupportedProtocol(value.to_string()));
                }
                once(&mut self.protocol, key, value.to_string())
            }
            "kernel_path" | "path" => once(
                &mut self.kernel_path,
                "kernel_path",
                BootPath::parse(value)?,
            ),
            "cmdline" | "kernel_cmdline" => once(&mut self.cmdline, "cmdline", value.to_string()),
            "comment" => once(&mut self.comment, key, value.to_string()),
            "module_path" => {
                self.modules.push(ModuleSpec {
                    path: BootPath::parse(value)?,
                    cmdline: String::new(),
                });
                Ok(())
            }
            "module_cmdline" => {
                let module = self
                    .modules
                    .last_mut()
                    .ok_or(ConfigErrorKind::ModuleCmdlineWithoutModule)?;
                module.cmdline = value.to_string();
                Ok(())
            }
            _ => Ok(()), // an ignored key
        }
    }
}

/// Replaces every `${NAME}` in `value` by its definition.
fn expand(value: &str, macros: &[(String, String)]) -> Result<String, ConfigErrorKind> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(ConfigErrorKind::BadMacro)?;
        let name = &after[..end];
        let (_, definition) = macros
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| ConfigErrorKind::UndefinedMacro(name.to_string()))?;
        out.push_str(definition);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses a whole configuration file.
///
/// Fails with the first problem found and its line; see [`ConfigErrorKind`].
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let mut timeout = Timeout::Seconds(5);
    let mut default_entry = (1, 0);
    let mut serial = false;
    let mut macros: Vec<(String, String)> = Vec::new();
    let mut entries = Vec::new();
    let mut current: Option<Draft> = None;
    let mut anything = false;

    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let at = |kind| ConfigError {
            line: line_no,
            kind,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        anything = true;

        if let Some(name) = line.strip_prefix('/') {
            if name.starts_with('/') {
                return Err(at(ConfigErrorKind::SubEntriesUnsupported));
            }
            let name = name.trim();
            if name.is_empty() {
                return Err(at(ConfigErrorKind::EmptyEntryName));
            }
            if let Some(done) = current.take() {
                entries.push(done.finish()?);
            }
            current = Some(Draft {
                name: name.to_string(),
                line: line_no,
                ..Draft::default()
            });
            continue;
        }

        if let Some(definition) = line.strip_prefix("${") {
            let (name, value) = definition
                .split_once("}=")
                .ok_or(at(ConfigErrorKind::BadMacro))?;
            if name.is_empty() || name.contains('}') {
                return Err(at(ConfigErrorKind::BadMacro));
            }
            let value = expand(value.trim(), &macros).map_err(at)?;
            macros.retain(|(n, _)| n != name);
            macros.push((name.to_string(), value));
            continue;
        }

        let (key, value) = line
            .split_once(':')
            .ok_or(at(ConfigErrorKind::MissingColon))?;
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(at(ConfigErrorKind::MissingColon));
        }
        let value = expand(value.trim(), &macros).map_err(at)?;

        match current.as_mut() {
            Some(draft) => {
                if is_entry_key(&key) {
                    draft.set(&key, &value).map_err(at)?;
                } else if is_global_key(&key) {
                    return Err(at(ConfigErrorKind::GlobalKeyInEntry(key)));
                } else {
                    return Err(at(ConfigErrorKind::UnknownKey(key)));
                }
            }
            None => match key.as_str() {
                "timeout" => {
                    timeout = match value.as_str() {
                        "no" => Timeout::Never,
                        "0" => Timeout::Immediate,
                        v => Timeout::Seconds(
                            v.parse()
                                .map_err(|_| at(ConfigErrorKind::BadTimeout(value.clone())))?,
                        ),
                    }
                }
                "default_entry" => match value.parse::<usize>() {
                    Ok(n) if n >= 1 => default_entry = (n, line_no),
                    _ => return Err(at(ConfigErrorKind::BadDefaultEntry(value))),
                },
                "serial" => {
                    serial = match value.as_str() {
                        "yes" => true,
                        "no" => false,
                        _ => return Err(at(ConfigErrorKind::BadBoolean(value))),
                    }
                }
                k if is_global_key(k) => {}
                k if is_entry_key(k) => return Err(at(ConfigErrorKind::EntryKeyOutsideEntry(key))),
                _ => return Err(at(ConfigErrorKind::UnknownKey(key))),
            },
        }
    }

    if let Some(done) = current.take() {
        entries.push(done.finish()?);
    }
    if !anything {
        return Err(ConfigError {
            line: 0,
            kind: ConfigErrorKind::Empty,
        });
    }
    if entries.is_empty() {
        return Err(ConfigError {
            line: 0,
            kind: ConfigErrorKind::NoEntries,
        });
    }
    let (n, line) = default_entry;
    if n > entries.len() {
        return Err(ConfigError {
            line,
            kind: ConfigErrorKind::DefaultEntryOutOfRange {
                default_entry: n,
                entries: entries.len(),
            },
        });
    }
    Ok(Config {
        timeout,
        default_entry: n,
        serial,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConfigErrorKind::*;

    fn err(text: &str) -> (usize, ConfigErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    const ENTRY: &str = "/K\nprotocol: limine\nkernel_path: boot():/boot/kernel\n";

    #[test]
    fn parses_the_projects_own_config() {
        let config = parse(include_str!("../../../limine.cfg")).unwrap();
        assert_eq!(config.timeout, Timeout::Seconds(3));
        assert!(config.serial);
        let test = config.entry_named("test").expect("a `test` entry");
        let entry = &config.entries[test];
        assert_eq!(entry.kernel_path.as_str(), "/boot/kernel");
        assert_eq!(entry.cmdline, "test");
        let modules: Vec<_> = entry
            .modules
            .iter()
            .map(|m| (m.path.as_str(), m.cmdline.as_str()))
            .collect();
        for wanted in [
            ("/boot/ktest", "ktest"),
            ("/boot/kfault", "kfault"),
            ("/boot/utest", "utest"),
            ("/boot/motd.txt", "motd"),
            ("/boot/test/pattern.bin", "pattern len=70001"),
        ] {
            assert!(modules.contains(&wanted), "{wanted:?} in {modules:?}");
        }
        assert_eq!(config.default_entry_index(), 0);
    }

    #[test]
    fn parses_macros_crlf_comments_and_synonyms() {
        let text = "# a comment\r\n${ROOT}=boot():/boot\r\n${ARGS}=a=1 b:2\r\nTIMEOUT: no\r\ndefault_entry: 2\r\nwallpaper: boot():/bg.png\r\nterm_palette: 000000\r\n\r\n/One\r\n  protocol: limine\r\n  path: ${ROOT}/kernel\r\n  kernel_cmdline: ${ARGS} c\r\n  module_path: ${ROOT}/a\r\n  module_path: ${ROOT}/b\r\n  module_cmdline: second one\r\n  kaslr: no\r\n/Two words\r\n  comment: spare: entry\r\n  protocol: limine\r\n  kernel_path: boot():/k\r\n";
        let config = parse(text).unwrap();
        assert_eq!(config.timeout, Timeout::Never);
        assert_eq!(config.default_entry_index(), 1);
        assert!(!config.serial);
        let one = &config.entries[0];
        assert_eq!((one.name.as_str(), one.line), ("One", 9));
        assert_eq!(one.kernel_path.as_str(), "/boot/kernel");
        assert_eq!(one.kernel_path.to_uefi_path(), "\\boot\\kernel");
        assert_eq!(one.cmdline, "a=1 b:2 c");
        assert_eq!(
            one.modules[0],
            ModuleSpec {
                path: BootPath("/boot/a".into()),
                cmdline: String::new()
            }
        );
        assert_eq!(one.modules[1].cmdline, "second one");
        let two = &config.entries[1];
        assert_eq!(two.name, "Two words");
        assert_eq!(two.comment.as_deref(), Some("spare: entry"));
        assert_eq!(two.cmdline, "");
        assert_eq!(config.entry_named("Two words"), Some(1));
        assert_eq!(config.entry_named("three"), None);
    }

    #[test]
    fn timeouts() {
        let with = |t: &str| parse(&format!("timeout: {t}\n{ENTRY}")).map(|c| c.timeout);
        assert_eq!(with("0"), Ok(Timeout::Immediate));
        assert_eq!(with("7"), Ok(Timeout::Seconds(7)));
        assert_eq!(with("no"), Ok(Timeout::Never));
        assert_eq!(with("soon").unwrap_err().kind, BadTimeout("soon".into()));
        assert_eq!(
            parse(ENTRY).unwrap().timeout,
            Timeout::Seconds(5),
            "Limine's default"
        );
    }

    #[test]
    fn unknown_keys() {
        assert_eq!(
            err(&format!("frobnicate: 1\n{ENTRY}")),
            (1, UnknownKey("frobnicate".into()))
        );
        assert_eq!(
            err(&format!("{ENTRY}frobnicate: 1\n")),
            (4, UnknownKey("frobnicate".into()))
        );
        assert_eq!(
            err(&format!("{ENTRY}timeout: 1\n")),
            (4, GlobalKeyInEntry("timeout".into()))
        );
        assert_eq!(
            err(&format!("cmdline: x\n{ENTRY}")),
            (1, EntryKeyOutsideEntry("cmdline".into()))
        );
    }

    #[test]
    fn incomplete_entries() {
        assert_eq!(
            err("/A\nprotocol: limine\n"),
            (1, MissingKernelPath("A".into()))
        );
        assert_eq!(
            err("/A\nkernel_path: boot():/k\n/B\n"),
            (1, MissingProtocol("A".into()))
        );
        assert_eq!(
            err("/A\nprotocol: linux\n"),
            (2, UnsupportedProtocol("linux".into()))
        );
        assert_eq!(
            err(&format!("{ENTRY}kernel_path: boot():/k2\n")),
            (4, DuplicateKey("kernel_path".into()))
        );
        assert_eq!(
            err("/A\nprotocol: limine\nmodule_cmdline: x\n"),
            (3, ModuleCmdlineWithoutModule)
        );
        assert_eq!(err("//Sub\n"), (1, SubEntriesUnsupported));
        assert_eq!(err("/  \n"), (1, EmptyEntryName));
    }

    #[test]
    fn bad_paths() {
        let path = |p: &str| err(&format!("/A\nprotocol: limine\nkernel_path: {p}\n"));
        assert_eq!(path("/boot/kernel"), (3, BadPath("/boot/kernel".into())));
        assert_eq!(
            path("boot():boot/kernel"),
            (3, BadPath("boot():boot/kernel".into()))
        );
        assert_eq!(path("boot():/"), (3, BadPath("boot():/".into())));
        assert_eq!(path("boot():/a//b"), (3, BadPath("boot():/a//b".into())));
        assert_eq!(
            path("boot():/a/../b"),
            (3, BadPath("boot():/a/../b".into()))
        );
        assert_eq!(path("boot():/a/./b"), (3, BadPath("boot():/a/./b".into())));
        assert_eq!(path("boot():\\a"), (3, BadPath("boot():\\a".into())));
        assert_eq!(path("boot:/a"), (3, BadPath("boot:/a".into())));
        assert_eq!(
            path("hdd(1:2):/a"),
            (3, UnsupportedResource("hdd(1:2)".into()))
        );
        assert_eq!(
            path("guid(abc):/a"),
            (3, UnsupportedResource("guid(abc)".into()))
        );
        assert_eq!(
            path("boot(2):/a"),
            (3, UnsupportedResource("boot(2)".into()))
        );
        assert_eq!(
            path("boot():/k#abc123"),
            (3, HashUnsupported("boot():/k#abc123".into()))
        );
        assert_eq!(
            BootPath::parse("boot():/Boot/Kernel.ELF").unwrap().as_str(),
            "/Boot/Kernel.ELF"
        );
    }

    #[test]
    fn default_entry_must_exist() {
        assert_eq!(
            err(&format!("default_entry: 2\n{ENTRY}")),
            (
                1,
                DefaultEntryOutOfRange {
                    default_entry: 2,
                    entries: 1
                }
            )
        );
        assert_eq!(
            err(&format!("default_entry: 0\n{ENTRY}")),
            (1, BadDefaultEntry("0".into()))
        );
        assert_eq!(
            err(&format!("default_entry: one\n{ENTRY}")),
            (1, BadDefaultEntry("one".into()))
        );
        assert_eq!(
            err(&format!("serial: maybe\n{ENTRY}")),
            (1, BadBoolean("maybe".into()))
        );
    }

    #[test]
    fn malformed_lines_and_files() {
        assert_eq!(err(""), (0, Empty));
        assert_eq!(err("# only\n   # comments\n\n"), (0, Empty));
        assert_eq!(err("timeout: 3\n"), (0, NoEntries));
        assert_eq!(err(&format!("{ENTRY}just some words\n")), (4, MissingColon));
        assert_eq!(
            err(&format!("{ENTRY}cmdline: ${{NOPE}}\n")),
            (4, UndefinedMacro("NOPE".into()))
        );
        assert_eq!(err("${BROKEN=1\n"), (1, BadMacro));
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse(&format!("{ENTRY}frobnicate: 1\n")).unwrap_err();
        assert_eq!(e.to_string(), "line 4: unknown key `frobnicate`");
        assert_eq!(parse("").unwrap_err().to_string(), "the file is empty");
        let e = parse("/A\nprotocol: limine\n").unwrap_err();
        assert_eq!(e.to_string(), "line 1: entry `A` has no `kernel_path`");
    }
}
