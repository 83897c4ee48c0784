"""The pom an upstream test runs with through Maven Surefire: the module's effective pom,
changed only where the checkout's own build or the run's timeout say so; and
Surefire's XML reports read back as runs the grading rule understands."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from hpatch import grading, surefirepom
from hpatch.grading import Kind

NS = {"m": surefirepom.POM_NS}
MODULE = "/w/surefire/hadoop-yarn-project/hadoop-yarn-server-resourcemanager"

EFFECTIVE = f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.apache.hadoop</groupId>
  <artifactId>hadoop-yarn-server-resourcemanager</artifactId>
  <version>2.7.1-acme3</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>org.codehaus.jackson</groupId>
        <artifactId>jackson-core-asl</artifactId>
        <version>1.9.13</version>
      </dependency>
      <dependency>
        <groupId>org.apache.hadoop</groupId>
        <artifactId>hadoop-yarn-api</artifactId>
        <version>2.7.1-acme3</version>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.hadoop</groupId>
      <artifactId>hadoop-yarn-server-nodemanager</artifactId>
      <version>2.7.1-acme3</version>
      <type>test-jar</type>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.hadoop</groupId>
      <artifactId>hadoop-common</artifactId>
      <version>2.7.1-acme3</version>
      <scope>provided</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper</artifactId>
      <version>3.4.6</version>
      <type>test-jar</type>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>jdk.tools</groupId>
      <artifactId>jdk.tools</artifactId>
      <version>1.8</version>
      <scope>system</scope>
      <systemPath>/usr/lib/jvm/x/lib/tools.jar</systemPath>
    </dependency>
  </dependencies>
  <build>
    <directory>{MODULE}/target</directory>
    <outputDirectory>{MODULE}/target/classes</outputDirectory>
    <testOutputDirectory>{MODULE}/target/test-classes</testOutputDirectory>
    <testResources><testResource><directory>{MODULE}/src/test/resources</directory>
    </testResource></testResources>
    <plugins>
      <plugin>
        <groupId>org.apache.felix</groupId>
        <artifactId>maven-bundle-plugin</artifactId>
        <version>2.5.0</version>
        <extensions>true</extensions>
      </plugin>
      <plugin>
        <artifactId>maven-antrun-plugin</artifactId>
        <version>1.7</version>
        <executions>
          <execution><id>create-log-dir</id><phase>process-test-resources</phase>
            <goals><goal>run</goal></goals>
            <configuration><target><copy toDir="{MODULE}/target/test-classes">
              <fileset dir="{MODULE}/src/main/conf"/></copy></target></configuration>
          </execution>
          <execution><id>dist</id><phase>package</phase>
            <goals><goal>run</goal></goals></execution>
        </executions>
      </plugin>
      <plugin>
        <groupId>org.apache.hadoop</groupId>
        <artifactId>hadoop-maven-plugins</artifactId>
        <version>2.7.1-acme3</version>
      </plugin>
      <plugin>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>2.17</version>
        <executions>
          <execution>
            <id>default-test</id>
            <phase>test</phase>
            <goals><goal>test</goal></goals>
            <configuration>
              <forkedProcessTimeoutInSeconds>900</forkedProcessTimeoutInSeconds>
              <argLine>-Xmx4096m -XX:+HeapDumpOnOutOfMemoryError</argLine>
              <skipTests>true</skipTests>
              <systemPropertyVariables>
                <test.build.data>{MODULE}/target/test/data</test.build.data>
              </systemPropertyVariables>
              <environmentVariables><MALLOC_ARENA_MAX>4</MALLOC_ARENA_MAX>
              </environmentVariables>
            </configuration>
          </execution>
        </executions>
        <configuration>
          <forkedProcessTimeoutInSeconds>900</forkedProcessTimeoutInSeconds>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
"""

REPO = Path("/m2/repository")
CLASSPATH = [
    Path("/cache/builds/k1/jars/hadoop-yarn-server-nodemanager-2.7.1-acme3-tests.jar"),
    REPO / "org/apache/hadoop/hadoop-common/2.7.1/hadoop-common-2.7.1.jar",
    REPO / "org/apache/hadoop/hadoop-yarn-server-resourcemanager/2.7.1/"
    "hadoop-yarn-server-resourcemanager-2.7.1.jar",
    Path("/cache/builds/k1/jars/hadoop-yarn-server-resourcemanager-2.7.1-acme3-tests.jar"),
]


def _pom() -> tuple[surefirepom.RunPom, ET.Element]:
    pom = surefirepom.run_pom(EFFECTIVE, CLASSPATH, version="2.7.1-acme3",
                              base_version="2.7.1", timeout=300)
    return pom, ET.fromstring(pom.text)


def _config(root: ET.Element) -> ET.Element:
    plugin = next(p for p in root.iterfind("m:build/m:plugins/m:plugin", NS)
                  if p.findtext("m:artifactId", namespaces=NS) == "maven-surefire-plugin")
    config = plugin.find("m:configuration", NS)
    assert config is not None
    return config


def test_the_modules_surefire_configuration_is_kept_verbatim() -> None:
    pom, root = _pom()
    config = _config(root)
    # the default-test execution's configuration: what `mvn test` runs with
    assert config.findtext("m:argLine", namespaces=NS) == (
        "-Xmx4096m -XX:+HeapDumpOnOutOfMemoryError")
    assert config.findtext("m:systemPropertyVariables/m:test.build.data",
                           namespaces=NS) == f"{MODULE}/target/test/data"
    assert config.findtext("m:environmentVariables/m:MALLOC_ARENA_MAX", namespaces=NS) == "4"
    assert pom.plugin_version == "2.17"
    # the module's properties (sourceEncoding) and build directories stay
    assert root.findtext("m:properties/m:project.build.sourceEncoding",
                         namespaces=NS) == "UTF-8"
    assert root.findtext("m:build/m:testOutputDirectory",
                         namespaces=NS) == f"{MODULE}/target/test-classes"
    assert root.find("m:build/m:testResources", NS) is not None


def test_what_differs_is_the_timeout_the_skip_and_nothing_else() -> None:
    pom, root = _pom()
    config = _config(root)
    assert config.findtext("m:forkedProcessTimeoutInSeconds", namespaces=NS) == "300"
    assert config.find("m:skipTests", NS) is None
    assert config.findtext("m:failIfNoSpecifiedTests", namespaces=NS) == "false"
    assert any("<skipTests> dropped" in c for c in pom.changes)


def test_checkout_built_jars_replace_their_dependencies() -> None:
    """The nodemanager -tests jar the release never published comes from the checkout's
    build; hadoop-common, identical to the release, resolves at the release's version."""
    pom, root = _pom()
    deps = {(d.findtext("m:artifactId", namespaces=NS), d.findtext("m:version", namespaces=NS))
            for d in root.iterfind("m:dependencies/m:dependency", NS)}
    assert ("hadoop-common", "2.7.1") in deps
    assert ("zookeeper", "3.4.6") in deps  # a third-party test jar, as the pom declares it
    assert not any(a == "hadoop-yarn-server-nodemanager" for a, _ in deps)
    assert not any(a == "jdk.tools" for a, _ in deps)  # the test JVM's JDK has its own
    extra = [e.text for e in _config(root).iterfind(
        "m:additionalClasspathElements/m:additionalClasspathElement", NS)]
    assert extra == [str(CLASSPATH[0])]
    assert any("hadoop-yarn-server-nodemanager:tests from the checkout's build" in c
               for c in pom.changes)
    # the fork's version is never asked of a repository
    assert "<version>2.7.1-acme3</version>" not in pom.text


def test_transitive_versions_are_managed_as_in_the_modules_build() -> None:
    """Without the module's dependencyManagement, jersey-json's jackson 1.8.3 came in next
    to 1.9.13 (an AbstractMethodError in YARN-4747's test)."""
    _, root = _pom()
    managed = {d.findtext("m:artifactId", namespaces=NS): d.findtext("m:version", namespaces=NS)
               for d in root.iterfind("m:dependencyManagement/m:dependencies/m:dependency", NS)}
    assert managed == {"jackson-core-asl": "1.9.13", "hadoop-yarn-api": "2.7.1"}


def test_a_module_the_checkout_built_is_excluded_where_others_bring_it() -> None:
    classpath = [*CLASSPATH, Path("/cache/builds/k1/jars/hadoop-common-2.7.1-acme3.jar")]
    pom = surefirepom.run_pom(EFFECTIVE, classpath, version="2.7.1-acme3",
                              base_version="2.7.1", timeout=300)
    root = ET.fromstring(pom.text)
    for dep in root.iterfind("m:dependencies/m:dependency", NS):
        excluded = [e.findtext("m:artifactId", namespaces=NS)
                    for e in dep.iterfind("m:exclusions/m:exclusion", NS)]
        assert "hadoop-common" in excluded
    assert str(classpath[-1]) in pom.text


def test_the_modules_own_jars_become_its_target_directories() -> None:
    pom, _ = _pom()
    assert pom.own == [("classes", CLASSPATH[2]), ("test-classes", CLASSPATH[3])]


def test_only_the_steps_before_test_are_kept() -> None:
    _, root = _pom()
    plugins = {p.findtext("m:artifactId", namespaces=NS): p
               for p in root.iterfind("m:build/m:plugins/m:plugin", NS)}
    assert set(plugins) == {"maven-surefire-plugin", "maven-bundle-plugin",
                            "maven-antrun-plugin"}
    ids = [e.findtext("m:id", namespaces=NS)
           for e in plugins["maven-antrun-plugin"].iterfind("m:executions/m:execution", NS)]
    assert ids == ["create-log-dir"]  # not the package-phase one
    # nothing is compiled: the sources directories are empty ones
    assert (root.findtext("m:build/m:sourceDirectory", namespaces=NS) or "").endswith(
        "hpatch-no-sources")


REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="org.apache.hadoop.util.TestStringUtilsNull" tests="3" failures="1" errors="1">
  <testcase name="testNull" classname="org.apache.hadoop.util.TestStringUtilsNull" time="0.1">
    <error message="boom" type="java.lang.NullPointerException">java.lang.NullPointerException: boom
\tat org.apache.hadoop.util.StringUtils.arrayToString(StringUtils.java:10)
\tat org.apache.hadoop.util.TestStringUtilsNull.testNull(TestStringUtilsNull.java:20)
</error>
  </testcase>
  <testcase name="testJoin" classname="org.apache.hadoop.util.TestStringUtilsNull" time="0.1">
    <failure type="java.lang.AssertionError">java.lang.AssertionError
\tat org.junit.Assert.fail(Assert.java:86)
\tat org.apache.hadoop.util.TestStringUtilsNull.testJoin(TestStringUtilsNull.java:30)
</failure>
  </testcase>
  <testcase name="testFine" classname="org.apache.hadoop.util.TestStringUtilsNull" time="0"/>
</testsuite>
"""


def test_surefire_reports_are_graded_by_the_same_rule(tmp_path: Path) -> None:
    (tmp_path / "TEST-org.apache.hadoop.util.TestStringUtilsNull.xml").write_text(REPORT)
    block = surefirepom.report_block(tmp_path, "org.apache.hadoop.util.TestStringUtilsNull")
    test_class = "org.apache.hadoop.util.TestStringUtilsNull"
    changed = {"org.apache.hadoop.util.StringUtils.arrayToString"}
    outcome = grading.parse_run("mvn output\n" + block, 1, test_class, changed)
    # the worst of the three: the assertion and the exception through changed code both
    # show the bug; nothing broke
    assert outcome.kind in (Kind.ASSERTION, Kind.CHANGED_CODE)
    lines = [ln for ln in block.splitlines() if ln.startswith("test=")]
    assert len(lines) == 3
    npe = grading.parse_run(
        "\n".join([grading.BEGIN, "class=x", lines[0], grading.END]), 1, test_class, changed)
    assert npe.kind is Kind.CHANGED_CODE
    assert npe.frame == "org.apache.hadoop.util.StringUtils.arrayToString"
    elsewhere = grading.parse_run(
        "\n".join([grading.BEGIN, "class=x", lines[0], grading.END]), 1, test_class, set())
    assert elsewhere.kind is Kind.BROKEN
    assertion = grading.parse_run(
        "\n".join([grading.BEGIN, "class=x", lines[1], grading.END]), 1, test_class, changed)
    assert assertion.kind is Kind.ASSERTION


def test_no_report_is_no_result(tmp_path: Path) -> None:
    assert surefirepom.report_block(tmp_path, "x.TestY") == ""
    outcome = grading.parse_run("[ERROR] The forked VM terminated", 1, "x.TestY")
    assert outcome.kind is Kind.BROKEN


def test_a_step_reading_what_release_sources_lack_is_left_out_and_said(tmp_path: Path) -> None:
    """Release sources carry no src/main/conf: the step that copies it is left out (the
    -tests jar has its copies), and the run says so; with the directory, it stays."""
    module = Path(MODULE)
    pom = surefirepom.run_pom(EFFECTIVE, CLASSPATH, version="2.7.1", base_version="2.7.1",
                              timeout=300, module_dir=module)
    assert "create-log-dir" not in pom.text
    assert any("antrun step create-log-dir left out: it reads src/main/conf" in c
               for c in pom.changes)
    present = tmp_path / "m"
    (present / "src" / "main" / "conf").mkdir(parents=True)
    kept = surefirepom.run_pom(EFFECTIVE.replace(MODULE, str(present)), CLASSPATH,
                               version="2.7.1", base_version="2.7.1", timeout=300,
                               module_dir=present)
    assert "create-log-dir" in kept.text


def test_a_report_type_that_is_no_class_name_is_not_taken_for_one(tmp_path: Path) -> None:
    """Surefire 2.17 writes a Mockito failure's type as its message's first words."""
    (tmp_path / "TEST-x.TestY.xml").write_text(
        '<testsuite name="x.TestY"><testcase name="t" classname="x.TestY">'
        '<failure message="&#10;Argument(s) are different! Wanted:&#10;-&gt; at '
        'x.TestY.t(TestY.java:3)&#10;" type="Argument(s) are different! Wanted">'
        "Argument(s) are different! Wanted:\n-> at x.TestY.t(TestY.java:3)\n"
        "\tat sun.reflect.NativeConstructorAccessorImpl.newInstance0(Native Method)\n"
        "</failure></testcase></testsuite>")
    block = surefirepom.report_block(tmp_path, "x.TestY")
    assert "exception=\t" in block or "exception=\tmessage" in block
    outcome = grading.parse_run(block, 1, "x.TestY")
    assert outcome.kind is Kind.ASSERTION, outcome


def test_a_parameterized_class_runs_whole_and_only_the_chosen_methods_count(
        tmp_path: Path) -> None:
    """Surefire 2.17 asks JUnit for the plain method, which a Parameterized runner does not
    have (YARN-3857's TestRMAppAttemptTransitions): the class runs whole, and the other
    tests' failures do not count."""
    assert surefirepom.is_parameterized("@RunWith(value = Parameterized.class)\npublic class T")
    assert surefirepom.is_parameterized("@RunWith(Parameterized.class)")
    assert not surefirepom.is_parameterized("@RunWith(MockitoJUnitRunner.class)")
    (tmp_path / "TEST-x.TestY.xml").write_text(
        '<testsuite name="x.TestY">'
        '<testcase name="testKey[0]" classname="x.TestY"><failure type="java.lang.AssertionError">'
        "java.lang.AssertionError\n\tat x.TestY.testKey(TestY.java:3)\n</failure></testcase>"
        '<testcase name="testKey[1]" classname="x.TestY"/>'
        '<testcase name="testOther[0]" classname="x.TestY"><error type="java.io.IOException">'
        "java.io.IOException\n\tat x.Elsewhere.f(Elsewhere.java:3)\n</error></testcase>"
        "</testsuite>")
    block = surefirepom.report_block(tmp_path, "x.TestY", ["testKey"])
    assert "testOther" not in block and block.count("test=testKey[") == 2
    assert grading.parse_run(block, 1, "x.TestY").kind is Kind.ASSERTION


def test_frames_in_a_reports_message_are_not_the_failures(tmp_path: Path) -> None:
    """A wait's TimeoutException carries a thread dump in its message (HDFS-9917's
    TestBPOfferService): the trace Surefire writes opens with it, and its `at` lines are
    other threads'. The failure's frames are those after the message."""
    dump = ("Timed out waiting for condition. Thread diagnostics:\n\"DataNode\" daemon\n"
            "        at org.apache.hadoop.hdfs.server.datanode.BPServiceActor.run(B.java:1)\n"
            "Caused by: nothing of this failure's")
    (tmp_path / "TEST-x.TestY.xml").write_text(
        '<testsuite name="x.TestY"><testcase name="t" classname="x.TestY">'
        '<error message="' + dump.replace("\n", "&#10;").replace('"', "&quot;")
        + '" type="java.util.concurrent.TimeoutException">'
        f"java.util.concurrent.TimeoutException: {dump}\n"
        "\tat org.apache.hadoop.test.GenericTestUtils.waitFor(GenericTestUtils.java:167)\n"
        "\tat x.TestY.t(TestY.java:748)\n"
        "</error></testcase></testsuite>")
    block = surefirepom.report_block(tmp_path, "x.TestY")
    assert "frames=org.apache.hadoop.test.GenericTestUtils.waitFor;x.TestY.t\n" in block
    assert "caused=1" not in block
    outcome = grading.parse_run(block, 1, "x.TestY")
    assert outcome.kind is Kind.ASSERTION, outcome


def test_a_remote_exceptions_server_stack_is_where_it_went(tmp_path: Path) -> None:
    """HDFS-9958 on stock: the NameNode's `assert` in BlockManager.createLocatedBlock
    (a method the fix changes) comes back as RemoteException(java.lang.AssertionError),
    the server's stack in its message. Surefire writes that type with the wrapped class
    in parentheses; the server's frames count as the failure's, the client's as well."""
    said = ("isCorrupt: false numMachines: 3\n\tat org.apache.hadoop.hdfs.server."
            "blockmanagement.BlockManager.createLocatedBlock(BlockManager.java:862)\n"
            "\tat org.apache.hadoop.ipc.Server$Handler.run(Server.java:2045)\n")
    kind = "org.apache.hadoop.ipc.RemoteException(java.lang.AssertionError)"
    (tmp_path / "TEST-x.TestY.xml").write_text(
        '<testsuite name="x.TestY"><testcase name="t" classname="x.TestY">'
        '<error message="' + said.replace("\n", "&#10;") + f'" type="{kind}">'
        f"{kind}: {said}"
        "\tat org.apache.hadoop.ipc.Client.call(Client.java:1476)\n"
        "\tat x.TestY.t(TestY.java:244)\n"
        "</error></testcase></testsuite>")
    block = surefirepom.report_block(tmp_path, "x.TestY")
    assert f"exception={kind}\t" in block
    changed = ["org.apache.hadoop.hdfs.server.blockmanagement.BlockManager.createLocatedBlock"]
    outcome = grading.parse_run(block, 1, "x.TestY", changed)
    assert outcome.kind is Kind.CHANGED_CODE, outcome
    assert outcome.frame == changed[0]
    # not the test's own assertion: the server's
    assert grading.parse_run(block, 1, "x.TestY").kind is Kind.BROKEN
