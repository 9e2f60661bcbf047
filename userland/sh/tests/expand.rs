//! The expander's table: a command line's words → the argument vector,
//! against a fixed environment and directory tree.

use std::collections::HashMap;

use sh::ast::Command;
use sh::expand::{expand_single, expand_words, Environment, ExpandError};
use sh::glob::DirLister;
use sh::parse;

struct Env {
    vars: HashMap<&'static str, &'static str>,
    args: Vec<String>,
}

impl Environment for Env {
    fn get(&self, name: &str) -> Option<String> {
        if let Ok(n @ 1..) = name.parse::<usize>() {
            return n.checked_sub(1).and_then(|i| self.args.get(i).cloned());
        }
        self.vars.get(name).map(|v| v.to_string())
    }
    fn positional(&self) -> Vec<String> {
        self.args.clone()
    }
}

struct Tree;

impl DirLister for Tree {
    fn list_dir(&self, path: &str) -> Option<Vec<String>> {
        let names: &[&str] = match path {
            "." => &["a.rs", "b.rs", "c.txt", ".hidden", "src", "x[1]"],
            "src" | "./src" => &["main.rs", "lib.rs", "util"],
            "src/util" => &["mod.rs"],
            "/" => &["bin", "etc", "home"],
            "/bin" => &["cat", "echo", "ls", "sh"],
            _ => return None,
        };
        Some(names.iter().map(|s| s.to_string()).collect())
    }
}

fn env() -> Env {
    let vars = HashMap::from([
        ("HOME", "/home/user"),
        ("A", "alpha"),
        ("SPACED", "  one   two  "),
        ("EMPTY", ""),
        ("STAR", "*.rs"),
        ("?", "3"),
        ("$", "42"),
        ("#", "2"),
        ("0", "sh"),
    ]);
    Env {
        vars,
        args: vec!["first arg".into(), "second".into()],
    }
}

fn expand(line: &str) -> Vec<String> {
    let list = parse(line).unwrap();
    let Command::Simple(sc) = &list.items[0].and_or.first.commands[0] else {
        panic!()
    };
    expand_words(&sc.words, &env(), &Tree).unwrap()
}

const TABLE: &[(&str, &[&str])] = &[
    ("echo a b", &["echo", "a", "b"]),
    ("echo $A", &["echo", "alpha"]),
    ("echo ${A}bet", &["echo", "alphabet"]),
    ("echo $Abet", &["echo"]),
    ("echo \"$A\"", &["echo", "alpha"]),
    ("echo '$A'", &["echo", "$A"]),
    ("echo \\$A", &["echo", "$A"]),
    ("echo $UNSET x", &["echo", "x"]),
    ("echo \"$UNSET\" x", &["echo", "", "x"]),
    ("echo $EMPTY", &["echo"]),
    ("echo ''", &["echo", ""]),
    ("echo $SPACED", &["echo", "one", "two"]),
    ("echo \"$SPACED\"", &["echo", "  one   two  "]),
    ("echo x${SPACED}y", &["echo", "x", "one", "two", "y"]),
    ("echo $? $$ $# $0", &["echo", "3", "42", "2", "sh"]),
    ("echo $1", &["echo", "first", "arg"]),
    ("echo \"$1\"", &["echo", "first arg"]),
    ("echo \"$@\"", &["echo", "first arg", "second"]),
    ("echo $@", &["echo", "first", "arg", "second"]),
    ("echo \"$*\"", &["echo", "first arg second"]),
    ("echo \"<$@>\"", &["echo", "<first arg", "second>"]),
    ("echo $3", &["echo"]),
    ("echo ~", &["echo", "/home/user"]),
    ("echo ~/docs", &["echo", "/home/user/docs"]),
    ("echo ~bob", &["echo", "~bob"]),
    ("echo '~'", &["echo", "~"]),
    ("echo a~", &["echo", "a~"]),
    ("echo *.rs", &["echo", "a.rs", "b.rs"]),
    ("echo ?.txt", &["echo", "c.txt"]),
    ("echo [ab].rs", &["echo", "a.rs", "b.rs"]),
    ("echo [!a].rs", &["echo", "b.rs"]),
    ("echo *", &["echo", "a.rs", "b.rs", "c.txt", "src", "x[1]"]),
    ("echo .*", &["echo", ".hidden"]),
    ("echo src/*.rs", &["echo", "src/lib.rs", "src/main.rs"]),
    ("echo */*.rs", &["echo", "src/lib.rs", "src/main.rs"]),
    ("echo src/*/mod.rs", &["echo", "src/util/mod.rs"]),
    ("echo /bin/c*", &["echo", "/bin/cat"]),
    ("echo /*/sh", &["echo", "/bin/sh"]),
    ("echo *.none", &["echo", "*.none"]),
    ("echo '*.rs'", &["echo", "*.rs"]),
    ("echo \"*.rs\"", &["echo", "*.rs"]),
    ("echo \\*.rs", &["echo", "*.rs"]),
    ("echo $STAR", &["echo", "a.rs", "b.rs"]),
    ("echo \"$STAR\"", &["echo", "*.rs"]),
    ("echo x[1]", &["echo", "x[1]"]),
    ("echo [", &["echo", "["]),
];

#[test]
fn expands_the_table() {
    for (line, want) in TABLE {
        assert_eq!(expand(line), *want, "line {line:?}");
    }
}

#[test]
fn ifs_splits_unquoted_expansions_only() {
    let mut e = env();
    e.vars.insert("IFS", ":");
    e.vars.insert("P", "a::b:c");
    let list = parse("echo $P a:b").unwrap();
    let Command::Simple(sc) = &list.items[0].and_or.first.commands[0] else {
        panic!()
    };
    assert_eq!(
        expand_words(&sc.words, &e, &Tree).unwrap(),
        ["echo", "a", "", "b", "c", "a:b"]
    );
}

#[test]
fn single_expansion_neither_splits_nor_globs() {
    let list = parse("X=$SPACED*.rs").unwrap();
    let Command::Simple(sc) = &list.items[0].and_or.first.commands[0] else {
        panic!()
    };
    assert_eq!(
        expand_single(&sc.assigns[0].value, &env()).unwrap(),
        "  one   two  *.rs"
    );
}

#[test]
fn expansion_is_bounded() {
    struct Big;
    impl Environment for Big {
        fn get(&self, _: &str) -> Option<String> {
            Some("x ".repeat(5000))
        }
        fn positional(&self) -> Vec<String> {
            Vec::new()
        }
    }
    let list = parse("echo $X").unwrap();
    let Command::Simple(sc) = &list.items[0].and_or.first.commands[0] else {
        panic!()
    };
    assert_eq!(
        expand_words(&sc.words, &Big, &Tree),
        Err(ExpandError::TooManyFields)
    );
}
