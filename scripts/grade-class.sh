#!/bin/sh
# Grades a class's submissions for one lab and writes a CSV
# (docs/teaching.md, "Grading a class in bulk").
#
#   scripts/grade-class.sh <lab> <dir> <out.csv> [start-tree]
#
# <dir> holds one entry per student: a directory (the student's tree), or
# <name>.patch (applied to a copy of [start-tree], required then). Each is
# graded in a scratch copy whose tests/ (the grader, the harness, the
# fixtures) come from this tree, so a submission cannot change its grader.
# HOST_ONLY=1 skips the QEMU parts. Run from the root of the staff tree.
# The submissions build into target/grade-class, never into the staff
# tree's target: cargo names a workspace's artifacts by their path inside
# it, so a submission's artifacts there would look fresh to the staff tree.
# That one target directory is shared by the class (the registry crates
# are built once), and each submission is a fresh copy, so the crates of
# the tree are built again for each (about 40 s a student on a loaded
# 2-core host).
# KEEP=<dir> keeps each student's graded tree and a target directory of
# its own in <dir>/<student>: the next run writes only the files that
# changed (`lab sync`), so a student whose submission did not change is
# graded again in seconds (for grading a class again and again during a
# lab; about 0.3 GB a student for the host parts).
set -eu
lab=$1 dir=$2 out=$3 start=${4:-}
here=$(pwd)
[ -f "$here/tests/lab/Cargo.toml" ] || { echo "run from the repository root" >&2; exit 2; }
args=""
[ "${HOST_ONLY:-0}" = 1 ] && args="--host"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
keep=${KEEP:-}
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    keep=$(cd "$keep" && pwd)
    cargo build --release -q -p lab
fi
echo "student,lab,part,points,max,note" > "$out"
for entry in "$dir"/*; do
    name=$(basename "$entry" .patch)
    tree="$scratch/$name"
    rm -rf "$tree"
    if [ -d "$entry" ]; then
        cp -r "$entry" "$tree"
    elif [ "${entry%.patch}" != "$entry" ]; then
        [ -n "$start" ] || { echo "$entry: a patch needs the start tree" >&2; exit 2; }
        cp -r "$start" "$tree"
        if ! (cd "$tree" && patch -p1 -s < "$entry"); then
            echo "$name,$lab,total,0,0,the patch does not apply" >> "$out"
            continue
        fi
    else
        continue
    fi
    rm -rf "$tree/tests" "$tree/target"
    cp -r "$here/tests" "$tree/tests"
    target="$here/target/grade-class"
    if [ -n "$keep" ]; then
        # Only what changed since the last run is written (and rebuilt).
        "$here/target/release/lab" sync "$tree" "$keep/$name/tree"
        rm -rf "$tree"
        tree="$keep/$name/tree" target="$keep/$name/target"
    fi
    # The lab's grade lines: "<lab>: <part> <got>/<of>  (note)".
    result="$scratch/$name.out"
    # The grader in the dev profile: the crates it links (libsys, kv,
    # wait1: the submission's, which its replays run) are then built once
    # for it and the lab's host tests alike.
    (cd "$tree" && CARGO_TARGET_DIR="$target" \
        cargo run -q -p lab -- grade "$lab" $args --root . > "$result" 2>&1 || true)
    if ! grep -q '^lab [0-9]* (.*): total \|^lab: ' "$result"; then
        # The grader itself did not build or run (a submission that does
        # not compile breaks the workspace): zero, with cargo's last error.
        why=$(grep -m1 '^error' "$result" | tr '"' "'" || true)
        echo "$name,$lab,total,0,0,\"the grader did not run: ${why:-see cargo}\"" >> "$out"
        continue
    fi
    awk -v s="$name" -v l="$lab" '
        function csv(t) { gsub(/"/, "\"\"", t); return "\"" t "\"" }
        /^lab [0-9]+ \(.*\): total [0-9]+\/[0-9]+/ {
            match($0, /total [0-9]+\/[0-9]+/); split(substr($0, RSTART + 6, RLENGTH - 6), t, "/")
            print s "," l ",total," t[1] "," t[2] ","; next }
        /^[a-z0-9]+: .* [0-9]+\/[0-9]+/ {
            line = $0; note = ""
            if (match(line, /  \(.*\)$/)) { note = substr(line, RSTART + 3, RLENGTH - 4); line = substr(line, 1, RSTART - 1) }
            sub(/^[a-z0-9]+: /, "", line)
            n = split(line, w, " "); split(w[n], t, "/")
            part = w[1]; for (i = 2; i < n; i++) part = part " " w[i]
            print s "," l "," csv(part) "," t[1] "," t[2] "," csv(note) }
        /^lab: / { print s "," l ",total,0,0," csv($0) }' "$result" >> "$out"
done
echo "wrote $out"
