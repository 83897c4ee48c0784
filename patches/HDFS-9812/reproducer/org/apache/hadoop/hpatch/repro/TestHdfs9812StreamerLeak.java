package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Field;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * HDFS-9812: when close() fails while flushing, the DataStreamer thread of the
 * stream must not outlive it.
 *
 * The flush is made to fail the way a busy client sees it fail: the thread that
 * closes the stream is interrupted while it waits for the last packet's ack, so
 * flushInternal() throws InterruptedIOException before closeThreads() is reached.
 */
public class TestHdfs9812StreamerLeak {
  private MiniDFSCluster cluster;

  @Before
  public void startCluster() throws IOException {
    Configuration conf = new Configuration();
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
  }

  @After
  public void stopCluster() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  @Test(timeout = 120000)
  public void failedCloseStopsTheStreamer() throws Exception {
    FileSystem fs = cluster.getFileSystem();
    FSDataOutputStream out = fs.create(new Path("/hpatch/hdfs-9812"));
    out.write(new byte[4096]);
    out.hflush();
    Thread streamer = streamerOf(out.getWrappedStream());
    assertNotNull("setup: the stream has no DataStreamer", streamer);
    out.write(new byte[4096]);

    Thread.currentThread().interrupt();
    try {
      out.close();
      fail("setup: close() succeeded, so flushing did not fail as the post-mortem needs");
    } catch (IOException expected) {
      // the flush failed: this is the close() the post-mortem is about
    } finally {
      Thread.interrupted();
    }

    streamer.join(10000);
    assertFalse("DataStreamer thread '" + streamer.getName() + "' is still alive 10 s after "
        + "close() failed: the failed close leaked it", streamer.isAlive());
  }

  /** The DataStreamer thread behind a DFSOutputStream, found by field name. */
  private static Thread streamerOf(OutputStream wrapped) throws IllegalAccessException {
    for (Class<?> c = wrapped.getClass(); c != null; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (field.getName().equals("streamer") && Thread.class.isAssignableFrom(field.getType())) {
          field.setAccessible(true);
          return (Thread) field.get(wrapped);
        }
      }
    }
    return null;
  }
}
