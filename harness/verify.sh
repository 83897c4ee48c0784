#!/usr/bin/env bash
# Runs inside the verification container (or on the host with --no-docker).
# Layout of WORK (prepared by hpatch):
#   classpath.txt          the release's jars, ':'-separated
#   classpath-SIDE.txt     (optional) a side's own classpath, when stock and
#                          patched are two builds; native-SIDE.txt likewise
#   src/stock src/patched  the touched Java files, before and after the fix
#                          (empty for a side built whole from its tree)
#   src/repro              the reproducer's sources; RUNNER: the harness runner
#   test-class.txt         the JUnit class to run
#   test-methods.txt       (optional) only these of its methods, comma-separated
#   surefire-properties.txt (optional) key=value: the test module's Surefire system
#                          properties, @DATA@ and @TESTCLASSES@ standing for this run's
#   surefire-run.txt       (optional) the test module's directory: each side then runs
#                          through Maven Surefire with pom-hpatch-SIDE.xml there, offline,
#                          reading the local Maven repository in surefire-repo.txt;
#                          surefire-own-SIDE.txt lists the module's jars ("classes JAR",
#                          "test-classes JAR") laid out in target/ under the side's classes
# NATIVE (optional): a directory holding libhadoop.so for this release
# Writes: jvm.txt, compile-*.log, stock-N.log / patched-N.log, status-*.txt, and for
# Surefire runs reports-SIDE-N/ (Surefire's XML reports and test output)
set -uo pipefail
WORK="$1"; HARNESS="$2"; REPEAT="${3:-1}"; TIMEOUT="${4:-300}"; NATIVE="${5:-}"
cd "$WORK"
JAVA_HOME="${HPATCH_JAVA_HOME:-${JAVA_HOME:-}}"
if [ -z "$JAVA_HOME" ]; then JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"; fi
JAVAC="$JAVA_HOME/bin/javac"; JAVA="$JAVA_HOME/bin/java"
CP="$(cat classpath.txt)"
side_cp() { if [ -f "$WORK/classpath-$1.txt" ]; then cat "$WORK/classpath-$1.txt"; else echo "$CP"; fi; }
side_native() { if [ -f "$WORK/native-$1.txt" ]; then cat "$WORK/native-$1.txt"; else echo "$NATIVE"; fi; }
TEST_CLASS="$(cat test-class.txt)"
TEST_METHODS=""
if [ -f test-methods.txt ]; then TEST_METHODS="$(cat test-methods.txt)"; fi
"$JAVA" -version > jvm.txt 2>&1
echo "JAVA_HOME=$JAVA_HOME" >> jvm.txt
# Hadoop 2.x and its test libraries reflect into the JDK; from JDK 9 on that
# needs the packages opened (JDK 8, the container's, needs nothing).
JVM_OPTS=()
for side in stock patched; do
  lib="$(side_native "$side")"
  if [ -n "$lib" ]; then echo "native-$side=$lib" >> jvm.txt; fi
done
if ! grep -q '"1\.' jvm.txt; then
  for pkg in java.lang java.lang.reflect java.util java.util.concurrent java.io java.nio \
             java.net sun.nio.ch sun.net.util java.security javax.security.auth; do
    JVM_OPTS+=("--add-opens=java.base/$pkg=ALL-UNNAMED")
  done
fi

compile() {  # name, output dir, classpath, sources dir...
  local name="$1" out="$2" cp="$3"; shift 3
  mkdir -p "$out"
  find "$@" -name '*.java' > "sources-$name.txt"
  if [ ! -s "sources-$name.txt" ]; then
    if [ -f "classpath-$name.txt" ]; then  # built whole from its tree: nothing to add
      echo "nothing to compile: $name was built from its tree" > "compile-$name.log"
      echo 0 > "status-compile-$name.txt"; return 0
    fi
    echo "no sources" > "compile-$name.log"; echo 1 > "status-compile-$name.txt"; return 1
  fi
  echo "hpatch-progress: compiling $name ($(wc -l < "sources-$name.txt") files)"
  "$JAVAC" -nowarn -proc:none -encoding UTF-8 -source 8 -target 8 -d "$out" -cp "$cp" \
    @"sources-$name.txt" > "compile-$name.log" 2>&1
  local rc=$?
  echo "$rc" > "status-compile-$name.txt"
  return $rc
}

compile_repro() {  # name, output dir, classpath
  local name="$1" out="$2" cp="$3" file rc
  compile "$name" "$out" "$cp" src/repro "$HARNESS/runner" && return 0
  # Another test file the commits change may not compile at this release (an import an
  # earlier change brought): the test class and the sources it uses are what runs.
  file="src/repro/${TEST_CLASS//.//}.java"
  [ -f "$file" ] || return 1
  cp "compile-$name.log" "compile-$name-all.log"
  rm -rf "$out"; mkdir -p "$out"
  { echo "$file"; find "$HARNESS/runner" -name '*.java'; } > "sources-$name.txt"
  "$JAVAC" -nowarn -proc:none -encoding UTF-8 -source 8 -target 8 -d "$out" -cp "$cp" \
    -sourcepath src/repro -implicit:class @"sources-$name.txt" > "compile-$name.log" 2>&1
  rc=$?
  echo "$rc" > "status-compile-$name.txt"
  if [ "$rc" = 0 ]; then echo "$name" >> repro-used-only.txt; fi
  return $rc
}

mkdir -p src/stock src/patched
if ! compile stock classes/stock "$(side_cp stock)" src/stock; then
  # The fix's test hooks (src/stock-plain holds stock without them) need more of the fix:
  # stock goes without them, and says so.
  if [ ! -d src/stock-plain ]; then echo "hpatch-progress: stock does not compile"; exit 0; fi
  cp compile-stock.log compile-stock-hooks.log
  cp -r src/stock-plain/. src/stock/ && rm -rf classes/stock && echo dropped > stock-hooks-dropped.txt
  compile stock classes/stock "$(side_cp stock)" src/stock || { echo "hpatch-progress: stock does not compile"; exit 0; }
fi
compile patched classes/patched "$(side_cp patched)" src/patched || { echo "hpatch-progress: patched does not compile"; exit 0; }
if ! compile_repro repro classes/repro "$WORK/classes/stock:$(side_cp stock)"; then
  # Against patched it may compile: the test needs API the fix adds (graded inconclusive).
  compile_repro repro-patched classes/repro-patched "$WORK/classes/patched:$(side_cp patched)"
  echo "hpatch-progress: reproducer does not compile"; exit 0
fi
# Resources beside the reproducer's sources (an upstream test's hdfs-site.xml) go on its classpath.
( cd src/repro && find . -type f ! -name '*.java' -exec cp --parents {} ../../classes/repro/ \; )

run() {  # side, n
  local side="$1" n="$2"
  local data="$WORK/data/$side-$n" lib cp opts=()
  lib="$(side_native "$side")"
  cp="$(side_cp "$side")"
  if [ -n "$lib" ]; then opts+=("-Djava.library.path=$lib"); fi
  mkdir -p "$data/target"
  # An upstream test's module Surefire properties (surefire-properties.txt): its build
  # directory is the run's data directory, its test classes the reproducer's.
  ln -sfn "$WORK/classes/repro" "$data/target/test-classes"
  local sysprops=()
  if [ -f surefire-properties.txt ]; then
    while IFS= read -r line; do
      line="${line//@DATA@/$data}"; sysprops+=("-D${line//@TESTCLASSES@/$WORK/classes/repro}")
    done < surefire-properties.txt
  fi
  echo "hpatch-progress: running $side ($n/$REPEAT)"
  ( cd "$data" && timeout --kill-after=10 "$TIMEOUT" "$JAVA" -Xmx1g "${JVM_OPTS[@]}" "${sysprops[@]}" "${opts[@]}" \
      -Dtest.build.data="$data" -Djava.io.tmpdir="$data" -Dhadoop.log.dir="$data" \
      -cp "$WORK/classes/$side:$WORK/classes/repro:$cp" \
      org.apache.hadoop.hpatch.harness.ReproRunner "$TEST_CLASS" "$TEST_METHODS" ) > "$side-$n.log" 2>&1
  echo $? > "status-$side-$n.txt"
}
run_surefire() {  # side, n: the module's own Surefire, as `mvn test` would run it
  local side="$1" n="$2" mod lib tests repo kind jar
  mod="$(cat surefire-run.txt)"
  repo="$(cat surefire-repo.txt)"
  lib="$(side_native "$side")"
  rm -rf "$mod/target"
  mkdir -p "$mod/target/classes" "$mod/target/test-classes"
  # target/ as the module's compile phases leave it: its jar and -tests jar, with the
  # fix's classes (this side's) and the upstream test on top. `mvn test` then runs the
  # module's steps before Surefire (resources, antrun) and Surefire; nothing compiles.
  while read -r kind jar; do
    [ -n "$jar" ] && ( cd "$mod/target/$kind" && unzip -qo "$jar" -x 'META-INF/MANIFEST.MF' )
  done < "surefire-own-$side.txt"
  cp -r "$WORK/classes/$side/." "$mod/target/classes/"
  cp -r "$WORK/classes/repro/." "$mod/target/test-classes/"
  tests="$TEST_CLASS"
  # Surefire runs a parameterized test's methods only as the whole class (its filter
  # asks JUnit for the plain method); the report is then read for the chosen methods.
  if [ -n "$TEST_METHODS" ] && [ ! -f surefire-whole-class.txt ]; then
    # each method, and its runs as a parameterized test (name[0], name[1], ...)
    local wanted="" m
    IFS=',' read -ra names <<< "$TEST_METHODS"
    for m in "${names[@]}"; do wanted="${wanted:+$wanted+}$m+$m[*]"; done
    tests="$TEST_CLASS#$wanted"
  fi
  echo "hpatch-progress: running $side ($n/$REPEAT) through Maven Surefire"
  # Offline: everything was resolved before the container started. No tracking file:
  # the read-only repository's artifacts count as present whatever repository sent them.
  ( cd "$mod" && export JAVA_HOME && if [ -n "$lib" ]; then export LD_LIBRARY_PATH="$lib"; fi && \
    timeout --kill-after=10 "$((TIMEOUT + 120))" mvn -B -o -f "pom-hpatch-$side.xml" \
      -Dmaven.repo.local="$repo" -Daether.enhancedLocalRepository.trackingFilename=hpatch-none \
      test -Dtest="$tests" -DfailIfNoTests=false -DtrimStackTrace=false ) > "$side-$n.log" 2>&1
  echo $? > "status-$side-$n.txt"
  rm -rf "reports-$side-$n"; mkdir -p "reports-$side-$n"
  if [ -d "$mod/target/surefire-reports" ]; then cp -r "$mod/target/surefire-reports/." "reports-$side-$n/"; fi
}
for n in $(seq 1 "$REPEAT"); do
  if [ -f surefire-run.txt ]; then
    run_surefire stock "$n"
    run_surefire patched "$n"
  else
    run stock "$n"
    run patched "$n"
  fi
done
echo "hpatch-progress: done"
