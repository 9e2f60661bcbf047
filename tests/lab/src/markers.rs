//! Starting points from markers in the solution code.
//!
//! The part of the code a lab's student writes is marked in the main tree
//! (which holds the solutions) as a comment block with the stub beside it:
//!
//! ```text
//!     // LAB 2 BEGIN: split the block (expand)
//!     while current > order { ... }          <- the solution
//!     // LAB 2 STUB
//!     // let index = zone.pop_free(pages, order)?;   <- the stub, commented
//!     // LAB 2 END
//! ```
//!
//! [`stub_out`] turns such a block into the stub: the solution lines go,
//! the stub's lines lose their `// `, and one comment says what to write
//! and where the lab's text is. Markers of other labs are left as they
//! are. Everything is plain comments, so the solution tree builds as it
//! is and the markers survive merges and moves of the code around them.

/// One marked block found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub lab: u32,
    /// 1-based line of `LAB n BEGIN`.
    pub line: usize,
    /// The text after `BEGIN:` (what to write).
    pub what: String,
}

/// What a marker line is.
#[derive(Debug, PartialEq, Eq)]
enum Marker {
    Begin(u32, String),
    Stub(u32),
    End(u32),
}

/// `// LAB <n> BEGIN[: what]`, `// LAB <n> STUB`, `// LAB <n> END`.
fn marker(line: &str) -> Option<Marker> {
    let rest = line.trim_start().strip_prefix("// LAB ")?;
    let (number, rest) = rest.split_once(' ')?;
    let lab: u32 = number.parse().ok()?;
    let rest = rest.trim_end();
    if let Some(what) = rest.strip_prefix("BEGIN") {
        let what = what.trim_start_matches(':').trim();
        return Some(Marker::Begin(lab, what.to_string()));
    }
    match rest {
        "STUB" => Some(Marker::Stub(lab)),
        "END" => Some(Marker::End(lab)),
        _ => None,
    }
}

/// The marked blocks of `text`, checked: every BEGIN has a STUB then an
/// END of the same lab, blocks do not nest, and the stub lines are all
/// comments.
pub fn blocks(text: &str) -> Result<Vec<Block>, String> {
    let mut found = Vec::new();
    // (lab, line of BEGIN, seen STUB)
    let mut open: Option<(u32, usize, bool)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        match (marker(line), &mut open) {
            (Some(Marker::Begin(lab, what)), None) => {
                open = Some((lab, number, false));
                found.push(Block {
                    lab,
                    line: number,
                    what,
                });
            }
            (Some(Marker::Begin(..)), Some((lab, at, _))) => {
                return Err(format!(
                    "line {number}: LAB BEGIN inside lab {lab}'s block of line {at}"
                ))
            }
            (Some(Marker::Stub(lab)), Some((open_lab, _, seen))) if lab == *open_lab && !*seen => {
                *seen = true
            }
            (Some(Marker::End(lab)), Some((open_lab, at, true))) if lab == *open_lab => {
                let _ = at;
                open = None;
            }
            (Some(Marker::End(lab)), Some((_, at, false))) => {
                return Err(format!(
                    "line {number}: LAB {lab} END without a LAB {lab} STUB since line {at}"
                ))
            }
            (Some(m), _) => return Err(format!("line {number}: {m:?} out of place")),
            (None, Some((_, _, true))) => {
                if !line.trim().is_empty() && !line.trim_start().starts_with("//") {
                    return Err(format!(
                        "line {number}: a stub line must be a comment (`// code`)"
                    ));
                }
            }
            (None, _) => {}
        }
    }
    if let Some((lab, at, _)) = open {
        return Err(format!("LAB {lab} BEGIN of line {at} has no END"));
    }
    Ok(found)
}

/// `text` with lab `lab`'s blocks replaced by their stubs (see the module
/// doc); `doc` names the lab's text for the comment left in place.
/// Returns the new text and how many blocks were replaced.
pub fn stub_out(text: &str, lab: u32, doc: &str) -> Result<(String, usize), String> {
    blocks(text)?;
    let mut out = String::with_capacity(text.len());
    let mut replaced = 0;
    // None: outside a block of `lab`; Some(false): in its solution;
    // Some(true): in its stub.
    let mut state: Option<bool> = None;
    for line in text.split_inclusive('\n') {
        let indent = &line[..line.len() - line.trim_start().len()];
        match (marker(line), state) {
            (Some(Marker::Begin(n, what)), None) if n == lab => {
                let what = if what.is_empty() {
                    "your code here".to_string()
                } else {
                    what
                };
                out.push_str(&format!("{indent}// LAB {lab} TODO: {what} ({doc})\n"));
                state = Some(false);
                replaced += 1;
            }
            (Some(Marker::Stub(n)), Some(false)) if n == lab => state = Some(true),
            (Some(Marker::End(n)), Some(true)) if n == lab => state = None,
            (_, Some(false)) => {}
            (_, Some(true)) => {
                let body = line.trim_start();
                let code = body
                    .strip_prefix("// ")
                    .or_else(|| body.strip_prefix("//"))
                    .unwrap_or(body);
                if code.trim().is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(indent);
                    out.push_str(code);
                }
            }
            (_, None) => out.push_str(line),
        }
    }
    Ok((out, replaced))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLVED: &str = "fn f() -> u32 {
    let a = 1;
    // LAB 3 BEGIN: add one
    let b = a + 1;
    // LAB 3 STUB
    // let b = 0; // wrong on purpose
    //
    // let _ = a;
    // LAB 3 END
    // LAB 4 BEGIN
    b * 2
    // LAB 4 STUB
    // 0
    // LAB 4 END
}
";

    #[test]
    fn a_block_becomes_its_stub_and_others_stay() {
        let (text, n) = stub_out(SOLVED, 3, "docs/labs/03-slab.md").unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            text,
            "fn f() -> u32 {
    let a = 1;
    // LAB 3 TODO: add one (docs/labs/03-slab.md)
    let b = 0; // wrong on purpose

    let _ = a;
    // LAB 4 BEGIN
    b * 2
    // LAB 4 STUB
    // 0
    // LAB 4 END
}
"
        );
        let (text, n) = stub_out(&text, 4, "x").unwrap();
        assert_eq!(n, 1);
        assert!(text.contains("    // LAB 4 TODO: your code here (x)\n    0\n}"));
    }

    #[test]
    fn a_lab_without_blocks_leaves_the_text_alone() {
        assert_eq!(stub_out(SOLVED, 9, "x").unwrap(), (SOLVED.to_string(), 0));
        assert_eq!(
            blocks(SOLVED).unwrap(),
            [
                Block {
                    lab: 3,
                    line: 3,
                    what: "add one".into()
                },
                Block {
                    lab: 4,
                    line: 10,
                    what: String::new()
                }
            ]
        );
    }

    #[test]
    fn broken_markers_are_refused_with_the_line() {
        let cases = [
            ("// LAB 1 BEGIN\nx\n// LAB 1 END\n", "without a LAB 1 STUB"),
            ("// LAB 1 BEGIN\nx\n// LAB 1 STUB\n// y\n", "has no END"),
            (
                "// LAB 1 BEGIN\n// LAB 2 BEGIN\n",
                "line 2: LAB BEGIN inside",
            ),
            (
                "// LAB 1 BEGIN\n// LAB 1 STUB\nlet x = 1;\n// LAB 1 END\n",
                "line 3: a stub line must be a comment",
            ),
            ("// LAB 1 STUB\n", "out of place"),
            ("// LAB 1 BEGIN\n// LAB 2 STUB\n", "out of place"),
        ];
        for (text, why) in cases {
            let err = blocks(text).unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
            assert!(stub_out(text, 1, "x").is_err());
        }
    }

    #[test]
    fn marker_lines_are_recognised_only_in_full() {
        assert_eq!(marker("  // LAB 12 END"), Some(Marker::End(12)));
        assert_eq!(marker("// LAB x END"), None);
        assert_eq!(marker("// LAB 1 ENDS"), None);
        assert_eq!(marker("let x = 1; // LAB 1 END"), None);
    }
}
