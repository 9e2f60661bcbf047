#!/bin/sh
# make test's check of scripts/grade-class.sh (HOST_ONLY=1): a class of
# two for lab 1 — alice, the starting point with the lab's files from this
# tree (the solution), and bob, the starting point as handed out — graded
# to a CSV whose lines are checked: a header, one line per part and a
# total line for each, full marks for alice and fewer for bob.
set -eu
here=$(pwd)
[ -f "$here/tests/lab/Cargo.toml" ] || { echo "run from the repository root" >&2; exit 2; }
lab=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
class="$work/class"
mkdir -p "$class"
cargo run --release -q -p lab -- start $lab "$class/bob" --worktree > "$work/start.out"
cp -r "$class/bob" "$class/alice"
# The files the starting point stubbed ("begin at <file>:<line>: …"),
# taken whole from this tree.
files=$(sed -n 's/^begin at \([^:]*\):.*/\1/p' "$work/start.out" | sort -u)
[ -n "$files" ] || { echo "grade-class-test: lab $lab stubbed nothing" >&2; exit 1; }
for f in $files; do cp "$here/$f" "$class/alice/$f"; done
# The class is kept in target/grade-class-test (KEEP): after the first
# run only the freshness checks and the tests run (seconds).
KEEP="$here/target/grade-class-test" HOST_ONLY=1 scripts/grade-class.sh $lab "$class" "$work/grades.csv" > /dev/null
csv="$work/grades.csv"
fail() { echo "grade-class-test: $*" >&2; cat "$csv" >&2; exit 1; }
[ "$(head -n 1 "$csv")" = "student,lab,part,points,max,note" ] || fail "no header"
for s in alice bob; do
    [ "$(grep -c "^$s,$lab,total," "$csv")" = 1 ] || fail "$s: not one total line"
    parts=$(grep "^$s,$lab," "$csv" | grep -vc ",total,") || true
    [ "$parts" -ge 2 ] || fail "$s: $parts part line(s)"
done
# alice: every part at its maximum, and the total of the parts.
awk -F, -v s=alice '$1 == s && $3 != "total" && $6 !~ /skipped/ && $4 != $5 { bad = 1 } END { exit bad }' "$csv" \
    || fail "alice lost points"
total=$(grep "^alice,$lab,total," "$csv" | cut -d, -f4,5)
[ "${total%,*}" = "${total#*,}" ] && [ "${total%,*}" -gt 0 ] || fail "alice's total is $total"
# bob: below full marks, with a note on a part he lost.
total=$(grep "^bob,$lab,total," "$csv" | cut -d, -f4,5)
[ "${total%,*}" -lt "${total#*,}" ] || fail "bob's total is $total"
grep "^bob,$lab," "$csv" | grep -v ",total," | grep -q ',0,[0-9]*,"..*"$' || fail "bob: no part at 0 with a note"
echo "grade-class: alice $(grep "^alice,$lab,total," "$csv" | cut -d, -f4)/$(grep "^alice,$lab,total," "$csv" | cut -d, -f5), bob ${total%,*}/${total#*,}: the CSV is as expected"
