package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static org.mockito.Matchers.any;
import static org.mockito.Matchers.anyString;
import static org.mockito.Mockito.doAnswer;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Field;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.client.HdfsDataInputStream;
import org.apache.hadoop.hdfs.protocol.datatransfer.Sender;
import org.apache.hadoop.hdfs.protocol.proto.DataTransferProtos.ShortCircuitShmResponseProto;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.hdfs.server.datanode.ShortCircuitRegistry;
import org.apache.hadoop.hdfs.server.datanode.ShortCircuitRegistry.NewShmInfo;
import org.apache.hadoop.io.IOUtils;
import org.apache.hadoop.net.unix.DomainSocket;
import org.apache.hadoop.net.unix.DomainSocketWatcher;
import org.junit.After;
import org.junit.Assume;
import org.junit.Test;
import org.mockito.Mockito;
import org.mockito.invocation.InvocationOnMock;
import org.mockito.stubbing.Answer;

/**
 * HADOOP-11802 (seen as "HDFS-11802"): when REQUEST_SHORT_CIRCUIT_SHM fails
 * after the DataNode registered the shared-memory segment, the DataNode's
 * DomainSocketWatcher thread must survive, so that later segments are still
 * registered and cleaned up and short-circuit reads keep working.
 *
 * The failure is the post-mortem's: the DataNode cannot pass the segment's
 * file descriptor to the client. A spy on the DataNode's ShortCircuitRegistry
 * closes the descriptor right after the real createNewMemorySegment registered
 * the segment, so DataXceiver's sendShmSuccessResponse fails (sendmsg(2):
 * EBADF) and requestShortCircuitShm takes its failure path.
 *
 * UNIX domain sockets are native: without libhadoop.so the test is skipped.
 */
public class TestHadoop11802WatcherSurvivesShmFailure {
  private static final int FILE_LENGTH = 8192;
  private static final long WAIT_MS = 120000;

  private MiniDFSCluster cluster;
  private File socketDir;

  @After
  public void tearDown() {
    if (cluster != null) {
      cluster.shutdown();
    }
    if (socketDir != null) {
      FileUtil.fullyDelete(socketDir);
    }
  }

  @Test(timeout = 600000)
  public void watcherSurvivesFailedShmRequest() throws Exception {
    Assume.assumeTrue("needs libhadoop.so with UNIX domain sockets: "
        + DomainSocket.getLoadingFailureReason(), DomainSocket.getLoadingFailureReason() == null);
    Assume.assumeTrue("needs libhadoop.so for the DomainSocketWatcher: "
        + DomainSocketWatcher.getLoadingFailureReason(),
        DomainSocketWatcher.getLoadingFailureReason() == null);

    DomainSocket.disableBindPathValidation();
    socketDir = shortSocketDir();
    String socketPath = new File(socketDir, "dn.sock").getAbsolutePath();
    Configuration conf = new Configuration();
    conf.set("dfs.domain.socket.path", socketPath);
    conf.setBoolean("dfs.client.read.shortcircuit", true);
    conf.setBoolean("dfs.client.domain.socket.data.traffic", false);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    Path file = new Path("/hpatch/hadoop-11802");
    DFSTestUtil.createFile(cluster.getFileSystem(), file, FILE_LENGTH, (short) 1, 0x11802L);

    DataNode dn = cluster.getDataNodes().get(0);
    ShortCircuitRegistry registry = dn.getShortCircuitRegistry();
    assertTrue("setup: the DataNode has no ShortCircuitRegistry", registry != null);
    assertTrue("setup: short-circuit shared memory is disabled on the DataNode (no /dev/shm?)",
        (Boolean) field(registry, "enabled"));
    DomainSocketWatcher watcher = (DomainSocketWatcher) field(registry, "watcher");
    Thread watcherThread = (Thread) field(watcher, "watcherThread");
    assertTrue("setup: the DomainSocketWatcher thread is not running", watcherThread.isAlive());

    // The DataNode fails to pass the first segment's descriptor to its client.
    final AtomicBoolean injected = new AtomicBoolean();
    final AtomicReference<Object> failedShmId = new AtomicReference<Object>();
    final ShortCircuitRegistry spy = Mockito.spy(registry);
    doAnswer(new Answer<NewShmInfo>() {
      @Override
      public NewShmInfo answer(InvocationOnMock invocation) throws Throwable {
        NewShmInfo info = (NewShmInfo) invocation.callRealMethod();
        if (injected.compareAndSet(false, true)) {
          failedShmId.set(info.shmId);
          info.stream.close();
        }
        return info;
      }
    }).when(spy).createNewMemorySegment(anyString(), any(DomainSocket.class));
    setField(dn, "shortCircuitRegistry", spy);

    DomainSocket client = DomainSocket.connect(socketPath);
    try {
      client.setAttribute(DomainSocket.RECEIVE_TIMEOUT, (int) WAIT_MS);
      DataOutputStream out = new DataOutputStream(
          new BufferedOutputStream(client.getOutputStream()));
      new Sender(out).requestShortCircuitShm("hpatch-hadoop-11802");
      out.flush();
      ShortCircuitShmResponseProto response =
          ShortCircuitShmResponseProto.parseDelimitedFrom(client.getInputStream());
      assertTrue("setup: the DataNode did not answer the REQUEST_SHORT_CIRCUIT_SHM",
          response != null);
      assertTrue("setup: the DataNode never created the segment whose descriptor should fail"
          + " to pass (response " + response.getStatus() + ")", injected.get());
      // The DataNode gives up on the socket: the client sees the end of it.
      boolean gaveUp;
      try {
        gaveUp = client.getInputStream().read() == -1;
      } catch (IOException e) {
        gaveUp = !(e instanceof java.net.SocketTimeoutException);
      }
      assertTrue("setup: the DataNode kept the failed request's socket open", gaveUp);
      // The watcher's callback for that socket frees the segment (stock and fixed alike).
      assertTrue("setup: the segment of the failed request was never freed",
          waitUntilFreed(spy, failedShmId.get()));
    } finally {
      IOUtils.cleanup(null, client);
    }

    // A new segment, registered the way DataXceiver does it, must be taken on
    // by the watcher: on a dead watcher this waits forever, as the post-mortem's
    // 4096 DataXceivers did.
    final DomainSocket[] pair = DomainSocket.socketpair();
    final CountDownLatch registered = new CountDownLatch(1);
    final AtomicReference<NewShmInfo> probe = new AtomicReference<NewShmInfo>();
    final AtomicReference<Throwable> probeError = new AtomicReference<Throwable>();
    Thread xceiver = new Thread("hpatch REQUEST_SHORT_CIRCUIT_SHM probe") {
      @Override
      public void run() {
        try {
          probe.set(spy.createNewMemorySegment("hpatch-probe", pair[0]));
        } catch (Throwable t) {
          probeError.set(t);
        } finally {
          registered.countDown();
        }
      }
    };
    xceiver.setDaemon(true);
    xceiver.start();
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (!registered.await(100, TimeUnit.MILLISECONDS)) {
      if (!watcherThread.isAlive() || System.currentTimeMillis() > deadline) {
        break;
      }
    }
    assertTrue("setup: registering a new segment failed: " + probeError.get(),
        probeError.get() == null);
    assertTrue("the DomainSocketWatcher thread died after a REQUEST_SHORT_CIRCUIT_SHM failed "
        + "on the DataNode (watcher thread alive: " + watcherThread.isAlive() + ", new segment "
        + "registered: " + (registered.getCount() == 0) + "): new short-circuit shared-memory "
        + "requests now wait forever and hold their DataXceiver",
        registered.getCount() == 0 && watcherThread.isAlive());

    // The watcher still cleans up: the probe's client goes away, its segment is freed.
    Object probeShmId = probe.get().shmId;
    IOUtils.cleanup(null, probe.get());
    pair[1].close();
    assertTrue("the DomainSocketWatcher did not free a segment whose client went away",
        waitUntilFreed(spy, probeShmId));

    // And a real short-circuit read works.
    FileSystem reader = FileSystem.newInstance(cluster.getURI(), conf);
    try {
      FSDataInputStream in = reader.open(file);
      try {
        byte[] data = new byte[FILE_LENGTH];
        IOUtils.readFully(in, data, 0, FILE_LENGTH);
        long local = ((HdfsDataInputStream) in).getReadStatistics()
            .getTotalShortCircuitBytesRead();
        assertEquals("a short-circuit read after the failed request did not read locally",
            FILE_LENGTH, local);
        synchronized (spy) {
          assertTrue("the short-circuit read after the failed request got no shared-memory "
              + "segment from the DataNode",
              !((Map<?, ?>) field(spy, "segments")).isEmpty());
        }
      } finally {
        in.close();
      }
    } finally {
      reader.close();
    }
    assertTrue("the DomainSocketWatcher thread died during the later short-circuit read",
        watcherThread.isAlive());
  }

  /** Waits until the registry no longer tracks the segment; false on timeout. */
  private static boolean waitUntilFreed(ShortCircuitRegistry registry, Object shmId)
      throws Exception {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (System.currentTimeMillis() < deadline) {
      synchronized (registry) {
        if (!((Map<?, ?>) field(registry, "segments")).containsKey(shmId)) {
          return true;
        }
      }
      Thread.sleep(50);
    }
    return false;
  }

  /** A directory for the DataNode's socket: the path must stay short (sun_path). */
  private static File shortSocketDir() throws IOException {
    String[] parents = {System.getProperty("test.build.data"), "/tmp",
        System.getProperty("java.io.tmpdir")};
    for (String parent : parents) {
      if (parent == null || parent.length() > 60 || !new File(parent).canWrite()) {
        continue;
      }
      File dir = new File(parent, "h11802-" + System.nanoTime());
      if (dir.mkdirs()) {
        return dir;
      }
    }
    fail("setup: no writable directory with a path short enough for a UNIX domain socket");
    return null;
  }

  private static Object field(Object target, String name) throws Exception {
    return declared(target.getClass(), name).get(target);
  }

  private static void setField(Object target, String name, Object value) throws Exception {
    declared(target.getClass(), name).set(target, value);
  }

  private static Field declared(Class<?> type, String name) throws NoSuchFieldException {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
      } catch (NoSuchFieldException e) {
        // look in the superclass
      }
    }
    throw new NoSuchFieldException(type.getName() + "." + name);
  }
}
