//! The parser's table: shell input → the tree (in a compact rendering) or
//! the syntax error message, plus the lexer's quoting and bounds.

use sh::ast::{AndOr, Command, Compound, Connector, List, Pipeline, RedirOp};
use sh::lexer::{Word, WordPart};
use sh::parse;

/// Quoted text as 'x', parameters as $x or "$x", literals as they are.
fn word(w: &Word) -> String {
    let parts: Vec<&WordPart> = w
        .parts
        .iter()
        .filter(|p| !(matches!(p, WordPart::Quoted(s) if s.is_empty()) && w.parts.len() > 1))
        .collect();
    parts
        .iter()
        .map(|p| match p {
            WordPart::Literal(s) => s.clone(),
            WordPart::Quoted(s) => format!("'{s}'"),
            WordPart::Param {
                name,
                quoted: false,
            } => format!("${name}"),
            WordPart::Param { name, quoted: true } => format!("\"${name}\""),
        })
        .collect()
}

fn list(l: &List) -> String {
    let items: Vec<String> = l
        .items
        .iter()
        .map(|it| {
            format!(
                "{}{}",
                and_or(&it.and_or),
                if it.background { " &" } else { "" }
            )
        })
        .collect();
    items.join("; ")
}

fn and_or(a: &AndOr) -> String {
    let mut s = pipeline(&a.first);
    for (c, p) in &a.rest {
        s += if *c == Connector::And { " && " } else { " || " };
        s += &pipeline(p);
    }
    s
}

fn pipeline(p: &Pipeline) -> String {
    let cmds: Vec<String> = p.commands.iter().map(command).collect();
    format!("{}{}", if p.bang { "! " } else { "" }, cmds.join(" | "))
}

fn command(c: &Command) -> String {
    match c {
        Command::Simple(s) => {
            let mut items: Vec<String> = s
                .assigns
                .iter()
                .map(|a| format!("{}={}", a.name, word(&a.value)))
                .collect();
            items.extend(s.words.iter().map(word));
            items.extend(s.redirects.iter().map(|r| {
                let op = match r.op {
                    RedirOp::Read => "<",
                    RedirOp::Write => ">",
                    RedirOp::Append => ">>",
                    RedirOp::Dup => ">&",
                };
                format!("{}{op}{}", r.fd, word(&r.target))
            }));
            format!("({})", items.join(" "))
        }
        Command::Compound(c, rs) => {
            let body = match c {
                Compound::If { arms, otherwise } => {
                    let mut s = String::new();
                    for (c, b) in arms {
                        s += &format!("if{{{}}}then{{{}}}", list(c), list(b));
                    }
                    if let Some(e) = otherwise {
                        s += &format!("else{{{}}}", list(e));
                    }
                    s
                }
                Compound::For { var, words, body } => {
                    let ws = words
                        .as_ref()
                        .map(|ws| ws.iter().map(word).collect::<Vec<_>>().join(" "));
                    format!(
                        "for{{{var} in {}}}do{{{}}}",
                        ws.unwrap_or("$@".into()),
                        list(body)
                    )
                }
                Compound::While { cond, body, until } => format!(
                    "{}{{{}}}do{{{}}}",
                    if *until { "until" } else { "while" },
                    list(cond),
                    list(body)
                ),
                Compound::Group(l) => format!("group{{{}}}", list(l)),
            };
            format!("{body}{}", if rs.is_empty() { "" } else { "+redir" })
        }
    }
}

fn render(src: &str) -> Result<String, String> {
    parse(src).map(|l| list(&l)).map_err(|e| e.to_string())
}

const OK: &[(&str, &str)] = &[
    ("", ""),
    ("   \n\n", ""),
    ("echo", "(echo)"),
    ("echo hello world", "(echo hello world)"),
    ("  echo   a\tb  ", "(echo a b)"),
    ("echo 'a b'", "(echo 'a b')"),
    ("echo \"a b\"", "(echo 'a b')"),
    ("echo a\\ b", "(echo a' 'b)"),
    ("echo 'it''s'", "(echo 'its')"),
    ("echo \"$HOME\"", "(echo \"$HOME\")"),
    ("echo $HOME/x", "(echo $HOME/x)"),
    ("echo ${HOME}x", "(echo $HOMEx)"),
    ("echo $? $$ $! $# $1 $@ $*", "(echo $? $$ $! $# $1 $@ $*)"),
    ("echo ${10}", "(echo $10)"),
    ("echo \"a\\$b\"", "(echo 'a$b')"),
    ("echo \"a\\qb\"", "(echo 'a\\qb')"),
    ("echo '$HOME'", "(echo '$HOME')"),
    ("echo $", "(echo $)"),
    ("echo a$", "(echo a$)"),
    ("echo \"\"", "(echo '')"),
    ("echo *.rs ?x [ab]", "(echo *.rs ?x [ab])"),
    ("echo a # comment", "(echo a)"),
    ("# only a comment", ""),
    ("echo a#b", "(echo a#b)"),
    ("echo a \\\n b", "(echo a b)"),
    ("ec\\\nho a", "(echo a)"),
    ("a | b", "(a) | (b)"),
    ("a | b | c | d | e", "(a) | (b) | (c) | (d) | (e)"),
    ("a |\n b", "(a) | (b)"),
    ("a && b || c", "(a) && (b) || (c)"),
    ("a &&\n b", "(a) && (b)"),
    ("a; b; c", "(a); (b); (c)"),
    ("a;b", "(a); (b)"),
    ("a\nb\n", "(a); (b)"),
    ("a & b", "(a) &; (b)"),
    ("sleep 100 &", "(sleep 100) &"),
    ("! false", "! (false)"),
    ("cat < in > out", "(cat 0<in 1>out)"),
    ("cat<in>out", "(cat 0<in 1>out)"),
    ("echo a >> log", "(echo a 1>>log)"),
    ("cmd 2> err", "(cmd 2>err)"),
    ("cmd 2>&1", "(cmd 2>&1)"),
    ("cmd > out 2>&1", "(cmd 1>out 2>&1)"),
    ("cmd 3>&- 4<&0", "(cmd 3>&- 4>&0)"),
    ("cmd 2 > x", "(cmd 2 1>x)"),
    ("> empty", "(1>empty)"),
    ("X=1", "(X=1)"),
    ("X=1 Y=$X cmd a=b", "(X=1 Y=$X cmd a=b)"),
    ("X='a b'", "(X='a b')"),
    ("1X=2", "(1X=2)"),
    ("echo done fi if", "(echo done fi if)"),
    ("if true; then echo y; fi", "if{(true)}then{(echo y)}"),
    ("if a\nthen\n b\nfi", "if{(a)}then{(b)}"),
    (
        "if a; then b; elif c; then d; else e; fi",
        "if{(a)}then{(b)}if{(c)}then{(d)}else{(e)}",
    ),
    ("if a; then b; fi > out", "if{(a)}then{(b)}+redir"),
    (
        "for i in a b c; do echo $i; done",
        "for{i in a b c}do{(echo $i)}",
    ),
    ("for i\ndo echo $i\ndone", "for{i in $@}do{(echo $i)}"),
    ("for i; do x; done", "for{i in $@}do{(x)}"),
    (
        "for f in *.txt\ndo\n cat $f\ndone",
        "for{f in *.txt}do{(cat $f)}",
    ),
    ("for i in; do x; done", "for{i in }do{(x)}"),
    ("while true; do x; done", "while{(true)}do{(x)}"),
    ("until false; do x; done", "until{(false)}do{(x)}"),
    (
        "while a; do if b; then c; fi; done",
        "while{(a)}do{if{(b)}then{(c)}}",
    ),
    (
        "for i in 1 2; do for j in 3; do e; done; done | sort",
        "for{i in 1 2}do{for{j in 3}do{(e)}} | (sort)",
    ),
    ("{ a; b; }", "group{(a); (b)}"),
    ("{ a; } 2>/dev/null", "group{(a)}+redir"),
    ("true && if a; then b; fi", "(true) && if{(a)}then{(b)}"),
    ("echo in", "(echo in)"),
    ("echo {", "(echo {)"),
];

const ERRORS: &[(&str, &str)] = &[
    ("fi", "sh: syntax error near unexpected token 'fi'"),
    ("echo a; fi", "sh: syntax error near unexpected token 'fi'"),
    ("then", "sh: syntax error near unexpected token 'then'"),
    ("done", "sh: syntax error near unexpected token 'done'"),
    ("if true; fi", "sh: syntax error near unexpected token 'fi'"),
    (
        "if then fi",
        "sh: syntax error near unexpected token 'then'",
    ),
    (";", "sh: syntax error near unexpected token ';'"),
    ("a ;; b", "sh: syntax error near unexpected token ';;'"),
    ("| a", "sh: syntax error near unexpected token '|'"),
    ("a | | b", "sh: syntax error near unexpected token '|'"),
    ("a && && b", "sh: syntax error near unexpected token '&&'"),
    ("a & & b", "sh: syntax error near unexpected token '&'"),
    ("echo >", "sh: syntax error: unexpected end of file"),
    ("echo > ;", "sh: syntax error near unexpected token ';'"),
    (
        "echo >\n",
        "sh: syntax error near unexpected token 'newline'",
    ),
    ("a |", "sh: syntax error: unexpected end of file"),
    ("a &&", "sh: syntax error: unexpected end of file"),
    ("if true; then", "sh: syntax error: unexpected end of file"),
    (
        "while true; do x",
        "sh: syntax error: unexpected end of file",
    ),
    (
        "for 1 in a; do x; done",
        "sh: syntax error near unexpected token '1'",
    ),
    (
        "for i in a b do x; done",
        "sh: syntax error near unexpected token 'done'",
    ),
    ("echo (", "sh: syntax error near unexpected token '('"),
    ("echo a )", "sh: syntax error near unexpected token ')'"),
    (
        "echo 'abc",
        "sh: syntax error: unexpected end of file while looking for matching '''",
    ),
    (
        "echo \"abc",
        "sh: syntax error: unexpected end of file while looking for matching '\"'",
    ),
    ("echo ${a b}", "sh: ${a b}: bad substitution"),
    ("echo ${}", "sh: ${}: bad substitution"),
    ("echo ${abc", "sh: syntax error: unexpected end of file"),
    ("echo a \\\n", "sh: syntax error: unexpected end of file"),
    ("{ }", "sh: syntax error near unexpected token '}'"),
];

#[test]
fn parses_the_table() {
    for (src, want) in OK {
        assert_eq!(render(src).as_deref(), Ok(*want), "input {src:?}");
    }
}

#[test]
fn rejects_the_table() {
    for (src, want) in ERRORS {
        assert_eq!(render(src), Err(want.to_string()), "input {src:?}");
    }
    assert!(OK.len() + ERRORS.len() >= 60);
}

#[test]
fn incomplete_input_asks_for_more() {
    for src in [
        "echo 'a",
        "if true; then",
        "a |",
        "for i in a; do",
        "echo a \\\n",
    ] {
        assert!(parse(src).unwrap_err().is_incomplete(), "{src:?}");
    }
    for src in ["fi", "a ;; b", "echo ${a b}"] {
        assert!(!parse(src).unwrap_err().is_incomplete(), "{src:?}");
    }
}

#[test]
fn hostile_input_gets_errors_not_crashes() {
    let deep = "if a; then ".repeat(200) + &"fi; ".repeat(200);
    assert_eq!(
        parse(&deep).unwrap_err().to_string(),
        "sh: syntax error: commands nested too deeply"
    );
    let long_pipe = vec!["a"; 300].join(" | ");
    assert_eq!(parse(&long_pipe).unwrap_err(), sh::SyntaxError::TooLong);
    let huge = "a".repeat(sh::lexer::MAX_INPUT + 1);
    assert_eq!(parse(&huge).unwrap_err(), sh::SyntaxError::TooLong);
    for junk in [
        "\u{0}\u{1}|&;<>()",
        "$$$${{{",
        "\"\\",
        "2>&",
        "99999999999>x",
        "${1a}",
    ] {
        let _ = parse(junk);
    }
}

#[test]
fn display_gives_the_job_table_text() {
    let l = parse("sleep 100 | grep x > out 2>&1").unwrap();
    assert_eq!(
        l.items[0].and_or.first.to_string(),
        "sleep 100 | grep x >out 2>&1"
    );
}
