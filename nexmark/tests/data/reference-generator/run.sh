#!/usr/bin/env bash
# Runs the upstream Nexmark generator (github.com/nexmark/nexmark, module nexmark-flink, commit
# 6b3646c3baec701f1fa74baf938d235f742e5d3c) with the seeding patch, printing JSON lines:
#
#   bash run.sh NEXMARK_REPO OPTIONS_FILE EVENTS [GENERATORS] > events.jsonl
#
# NEXMARK_REPO: a clone (or bare git dir) of nexmark/nexmark that has that commit. Needs git,
# patch and a JDK (17+). Compiles only the generator's classes, with stubs for the few Flink,
# jackson, slf4j and JSR-305 types they name (stubs/); nothing is downloaded.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
commit=6b3646c3baec701f1fa74baf938d235f742e5d3c
repo="$1"; shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
java_root=nexmark-flink/src/main/java/com/github/nexmark/flink
git -C "$repo" archive "$commit" \
    "$java_root/NexmarkConfiguration.java" "$java_root/generator/GeneratorConfig.java" \
    "$java_root/generator/NexmarkGenerator.java" "$java_root/generator/model" "$java_root/model" \
    "$java_root/utils/NexmarkUtils.java" | tar -x -C "$work"
patch -s -p1 -d "$work" < "$here/seeding.patch"
mkdir "$work/classes"
javac -nowarn -d "$work/classes" $(find "$work/nexmark-flink" "$here/stubs" "$here/ReferenceDump.java" -name '*.java')
java -cp "$work/classes" ReferenceDump "$@"
