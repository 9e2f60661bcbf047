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
set -eu
lab=$1 dir=$2 out=$3 start=${4:-}
here=$(pwd)
[ -f "$here/tests/lab/Cargo.toml" ] || { echo "run from the repository root" >&2; exit 2; }
args=""
[ "${HOST_ONLY:-0}" = 1 ] && args="--host"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
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
    # The lab's grade lines: "<lab>: <part> <got>/<of>  (note)".
    result="$scratch/$name.out"
    (cd "$tree" && CARGO_TARGET_DIR="$here/target/grade-class" \
        cargo run --release -q -p lab -- grade "$lab" $args --root . > "$result" 2>&1 || true)
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
