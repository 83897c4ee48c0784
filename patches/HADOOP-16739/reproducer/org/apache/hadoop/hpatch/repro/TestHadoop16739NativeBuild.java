package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertTrue;

import org.apache.hadoop.util.NativeCodeLoader;
import org.junit.Test;

/**
 * HADOOP-16739: hadoop-pipes includes rpc/xdr.h, which glibc 2.32 no longer
 * ships (libtirpc does), so a -Pnative build stops in hadoop-pipes. The fix is
 * in the build; what this checks is the build's result: the native library of
 * the release under test loads.
 *
 * Needs the libhadoop.so of the release under test on java.library.path
 * (e.g. -Djava.library.path=hadoop-dist/target/hadoop-X/lib/native).
 */
public class TestHadoop16739NativeBuild {

  @Test
  public void nativeLibraryLoads() {
    assertTrue("libhadoop.so not loaded from java.library.path="
        + System.getProperty("java.library.path"),
        NativeCodeLoader.isNativeCodeLoaded());
  }
}
