package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * HDFS-9812: when close() fails while flushing, the DataStreamer thread of the
 * stream must not outlive it.
 *
 * The flush is made to fail the way a busy client sees it fail: the thread that
 * closes the stream is interrupted while it waits for the ack of the block's
 * last packet, so flushInternal() throws InterruptedIOException before
 * closeThreads() is reached. The DataNode is kept from acknowledging that packet
 * (the test holds the monitor of its dataset, which finalizing the block needs)
 * so the interrupt always lands while the packet is in flight, whatever the
 * timing of the machine.
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

  @Test(timeout = 180000)
  public void failedCloseStopsTheStreamer() throws Exception {
    FileSystem fs = cluster.getFileSystem();
    final FSDataOutputStream out = fs.create(new Path("/hpatch/hdfs-9812"));
    out.write(new byte[4096]);
    out.hflush();
    OutputStream wrapped = out.getWrappedStream();
    Thread streamer = (Thread) fieldOf(wrapped, "streamer");
    assertNotNull("setup: the stream has no DataStreamer", streamer);
    List<?> dataQueue = (List<?>) fieldOf(wrapped, "dataQueue");
    List<?> ackQueue = (List<?>) fieldOf(wrapped, "ackQueue");
    assertNotNull("setup: the stream has no dataQueue/ackQueue", dataQueue);
    assertNotNull("setup: the stream has no dataQueue/ackQueue", ackQueue);

    // Hold the DataNode's dataset: it cannot finalize the block, so it cannot
    // acknowledge the last packet that close() sends.
    final Object dataset = datasetOf(cluster.getDataNodes().get(0));
    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    Thread holder = new Thread("hold DataNode dataset") {
      @Override
      public void run() {
        synchronized (dataset) {
          held.countDown();
          try {
            release.await(150, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    };
    holder.setDaemon(true);
    holder.start();
    try {
      assertTrue("setup: could not take the DataNode's dataset lock",
          held.await(60, TimeUnit.SECONDS));

      final AtomicReference<Throwable> closeError = new AtomicReference<Throwable>();
      final CountDownLatch closeReturned = new CountDownLatch(1);
      Thread closer = new Thread("closer") {
        @Override
        public void run() {
          try {
            out.close();
          } catch (Throwable t) {
            closeError.set(t);
          } finally {
            closeReturned.countDown();
          }
        }
      };
      closer.setDaemon(true);
      closer.start();

      // Wait until the last packet has left the dataQueue for the ackQueue:
      // it is on the wire and its ack cannot come.
      long deadline = System.currentTimeMillis() + 60000;
      boolean inFlight = false;
      synchronized (dataQueue) {
        while (System.currentTimeMillis() < deadline && closeReturned.getCount() > 0) {
          if (dataQueue.isEmpty() && !ackQueue.isEmpty()) {
            inFlight = true;
            break;
          }
          dataQueue.wait(100);
        }
      }
      assertTrue("setup: close() never sent the block's last packet (close returned: "
          + (closeReturned.getCount() == 0) + ", error: " + closeError.get() + ")", inFlight);

      closer.interrupt();
      assertTrue("setup: close() did not return 60 s after its thread was interrupted",
          closeReturned.await(60, TimeUnit.SECONDS));
      assertTrue("setup: close() did not fail, so flushing did not fail as the post-mortem "
          + "needs (error: " + closeError.get() + ")", closeError.get() instanceof IOException);

      streamer.join(10000);
      assertFalse("DataStreamer thread '" + streamer.getName() + "' is still alive 10 s after "
          + "close() failed with " + closeError.get() + ": the failed close leaked it",
          streamer.isAlive());
    } finally {
      release.countDown();
      holder.join(60000);
    }
  }

  /** A field of the DFSOutputStream (or a superclass), found by name. */
  private static Object fieldOf(Object target, String name) throws IllegalAccessException {
    for (Class<?> c = target.getClass(); c != null; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (field.getName().equals(name)) {
          field.setAccessible(true);
          return field.get(target);
        }
      }
    }
    return null;
  }

  /** DataNode#getFSDataset(), package-private before 2.4. */
  private static Object datasetOf(DataNode dn) throws Exception {
    Method getter = DataNode.class.getDeclaredMethod("getFSDataset");
    getter.setAccessible(true);
    Object dataset = getter.invoke(dn);
    assertNotNull("setup: the DataNode has no dataset", dataset);
    return dataset;
  }
}
