package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.apache.hadoop.io.nativeio.Errno;
import org.apache.hadoop.io.nativeio.NativeIO;
import org.apache.hadoop.io.nativeio.NativeIOException;
import org.apache.hadoop.util.NativeCodeLoader;
import org.junit.Test;

/**
 * HADOOP-17569: libhadoop.so names errors through sys_errlist/sys_nerr, which
 * glibc 2.32 removed, so -Pnative does not build on a current Linux. Built with
 * the fix, the library loads and still turns an errno into its message.
 *
 * Needs the libhadoop.so of the release under test on java.library.path
 * (e.g. -Djava.library.path=hadoop-dist/target/hadoop-X/lib/native).
 */
public class TestHadoop17569NativeErrors {

  @Test
  public void libhadoopLoadsAndNamesErrors() throws Exception {
    assertTrue("libhadoop.so not loaded from java.library.path="
        + System.getProperty("java.library.path"),
        NativeCodeLoader.isNativeCodeLoaded());
    try {
      NativeIO.POSIX.open("/nonexistent-hpatch-dir/none", NativeIO.POSIX.O_RDONLY, 0);
      fail("open of a missing file succeeded");
    } catch (NativeIOException e) {
      // throw_ioe() builds this message from the errno (strerror with the fix).
      assertEquals(Errno.ENOENT, e.getErrno());
      assertTrue("message: " + e.getMessage(),
          e.getMessage().contains("No such file or directory"));
    }
  }
}
