package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertTrue;

import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.security.Permission;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.hdfs.server.datanode.DataNodeTestUtils;
import org.apache.hadoop.hdfs.server.datanode.fsdataset.FsDatasetSpi;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * HDFS-5341: the DataNode's DirectoryScanner must not read block file lengths
 * from disk while it holds the FsDataset lock. On a busy disk every
 * File.length() is slow, the comparison of the disk scan with the block map then
 * holds the lock for minutes, and the heartbeat thread (which needs the lock to
 * report the volumes' space) stalls until the NameNode declares the DataNode dead.
 *
 * A slow disk is simulated for File.length() of block files only: a
 * SecurityManager, whose checkRead runs at the start of every File.length(),
 * holds such calls until the test releases them. While the scan is stuck in
 * such a read, a thread doing what the heartbeat does must still get through.
 */
public class TestHdfs5341ScanLengthOutsideLock {
  private static final Pattern BLOCK_FILE = Pattern.compile(".*[/\\\\]blk_-?\\d+$");

  private MiniDFSCluster cluster;
  private SecurityManager previous;
  private boolean installed;

  /** Holds File.length() of block files until released; lets everything else through. */
  static class SlowBlockLengthDisk extends SecurityManager {
    final CountDownLatch reading = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicReference<String> reader = new AtomicReference<String>();
    final Object datasetLock;

    SlowBlockLengthDisk(Object datasetLock) {
      this.datasetLock = datasetLock;
    }

    @Override
    public void checkPermission(Permission perm) {
    }

    @Override
    public void checkPermission(Permission perm, Object context) {
    }

    @Override
    public void checkRead(String file) {
      if (release.getCount() == 0 || !BLOCK_FILE.matcher(file).matches()
          || !lengthReadByDirectoryScanner()) {
        return;
      }
      reader.compareAndSet(null, Thread.currentThread().getName()
          + (Thread.holdsLock(datasetLock) ? " (holding the dataset lock)"
              : " (not holding the dataset lock)"));
      reading.countDown();
      try {
        release.await(110, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /** Is this check the start of a File.length() that the DirectoryScanner called? */
    private static boolean lengthReadByDirectoryScanner() {
      boolean fileLength = false;
      for (StackTraceElement frame : new Throwable().getStackTrace()) {
        if (frame.getClassName().equals("java.io.File")
            && frame.getMethodName().equals("length")) {
          fileLength = true;
        } else if (fileLength && frame.getClassName().startsWith(
            "org.apache.hadoop.hdfs.server.datanode.DirectoryScanner")) {
          return true;
        }
      }
      return false;
    }
  }

  @Before
  public void startCluster() throws Exception {
    Configuration conf = new Configuration();
    // The DataNode's own scanner stays off; the test runs a scanner of its own.
    conf.setInt(DFSConfigKeys.DFS_DATANODE_DIRECTORYSCAN_INTERVAL_KEY, -1);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
  }

  @After
  public void stopCluster() {
    if (installed) {
      System.setSecurityManager(previous);
      installed = false;
    }
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  @Test(timeout = 180000)
  public void heartbeatGetsTheDatasetLockWhileScanReadsLengths() throws Exception {
    FileSystem fs = cluster.getFileSystem();
    DFSTestUtil.createFile(fs, new Path("/hpatch/hdfs-5341"), 3 * 1024, (short) 1, 5341L);
    DataNode dn = cluster.getDataNodes().get(0);
    final FsDatasetSpi<?> dataset = DataNodeTestUtils.getFSDataset(dn);
    final String bpid = cluster.getNamesystem().getBlockPoolId();
    assertTrue("setup: the DataNode has no finalized block to scan",
        !dataset.getFinalizedBlocks(bpid).isEmpty());

    final Object scanner = newDirectoryScanner(dn, dataset, new Configuration());
    final Method scan = scanner.getClass().getDeclaredMethod("scan");
    scan.setAccessible(true);

    final SlowBlockLengthDisk disk = new SlowBlockLengthDisk(dataset);
    previous = System.getSecurityManager();
    System.setSecurityManager(disk);
    installed = true;
    final AtomicReference<Throwable> scanError = new AtomicReference<Throwable>();
    Thread scanThread = new Thread("DirectoryScanner (test)") {
      @Override
      public void run() {
        try {
          scan.invoke(scanner);
        } catch (InvocationTargetException e) {
          scanError.set(e.getCause());
        } catch (Throwable t) {
          scanError.set(t);
        }
      }
    };
    scanThread.setDaemon(true);
    Thread heartbeat = null;
    try {
      scanThread.start();
      assertTrue("setup: the directory scan never read a block file's length",
          disk.reading.await(60, TimeUnit.SECONDS));

      // What BPServiceActor.sendHeartBeat() asks the dataset for.
      final CountDownLatch heartbeatSent = new CountDownLatch(1);
      final AtomicReference<Exception> heartbeatError = new AtomicReference<Exception>();
      heartbeat = new Thread("heartbeat stand-in (test)") {
        @Override
        public void run() {
          try {
            dataset.getCapacity();
            dataset.getDfsUsed();
            dataset.getRemaining();
            dataset.getBlockPoolUsed(bpid);
            heartbeatSent.countDown();
          } catch (Exception e) {
            heartbeatError.set(e);
          }
        }
      };
      heartbeat.setDaemon(true);
      heartbeat.start();
      boolean sent = heartbeatSent.await(20, TimeUnit.SECONDS);
      assertTrue("setup: reading the dataset's statistics failed: " + heartbeatError.get(),
          heartbeatError.get() == null);
      assertTrue("the heartbeat could not read the volumes' space for 20 s while the "
          + "DirectoryScanner was reading a block file's length: the length was read by "
          + disk.reader.get() + ", so a slow disk stalls heartbeats until the DataNode "
          + "is declared dead", sent);
    } finally {
      disk.release.countDown();
      scanThread.join(60000);
      if (heartbeat != null) {
        heartbeat.join(60000);
      }
      System.setSecurityManager(previous);
      installed = false;
      Method shutdown = scanner.getClass().getDeclaredMethod("shutdown");
      shutdown.setAccessible(true);
      shutdown.invoke(scanner);
    }
    assertTrue("setup: the scan did not finish after the disk was released",
        !scanThread.isAlive());
    assertTrue("setup: the scan failed: " + scanError.get(), scanError.get() == null);
  }

  /** A DirectoryScanner over the dataset (its constructor is package-private and varies). */
  private static Object newDirectoryScanner(DataNode dn, FsDatasetSpi<?> dataset,
      Configuration conf) throws Exception {
    Class<?> type = Class.forName("org.apache.hadoop.hdfs.server.datanode.DirectoryScanner");
    for (Constructor<?> c : type.getDeclaredConstructors()) {
      Class<?>[] params = c.getParameterTypes();
      Object[] args = new Object[params.length];
      boolean ok = true;
      for (int i = 0; i < params.length && ok; i++) {
        if (params[i].isInstance(dn)) {
          args[i] = dn;
        } else if (params[i].isInstance(dataset)) {
          args[i] = dataset;
        } else if (params[i] == Configuration.class) {
          args[i] = conf;
        } else {
          ok = false;
        }
      }
      if (ok) {
        c.setAccessible(true);
        return c.newInstance(args);
      }
    }
    throw new AssertionError("setup: no DirectoryScanner constructor takes "
        + "(DataNode, FsDatasetSpi, Configuration) arguments");
  }
}
