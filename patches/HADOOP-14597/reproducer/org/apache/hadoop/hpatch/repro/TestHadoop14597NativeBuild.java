package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertTrue;

import org.apache.hadoop.util.NativeCodeLoader;
import org.junit.Test;

/**
 * HADOOP-14597 before 2.6 (no OpensslCipher yet): hadoop-pipes keeps an
 * HMAC_CTX on the stack, which OpenSSL 1.1 made opaque, so a -Pnative build
 * stops in hadoop-pipes. What this checks is the build's result: the native
 * library of the release under test loads.
 *
 * Needs the libhadoop.so of the release under test on java.library.path
 * (e.g. -Djava.library.path=hadoop-dist/target/hadoop-X/lib/native).
 */
public class TestHadoop14597NativeBuild {

  @Test
  public void nativeLibraryLoads() {
    assertTrue("libhadoop.so not loaded from java.library.path="
        + System.getProperty("java.library.path"),
        NativeCodeLoader.isNativeCodeLoaded());
  }
}
