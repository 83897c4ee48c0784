package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Formatter;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.protocol.DatanodeInfo;
import org.apache.hadoop.hdfs.protocol.HdfsConstants.DatanodeReportType;
import org.apache.hadoop.hdfs.server.balancer.Balancer;
import org.apache.hadoop.hdfs.server.datanode.SimulatedFSDataset;
import org.apache.hadoop.hdfs.server.protocol.BlocksWithLocations;
import org.apache.hadoop.hdfs.server.protocol.BlocksWithLocations.BlockWithLocations;
import org.apache.hadoop.hdfs.server.protocol.NamenodeProtocol;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * HDFS-6364: a block that the NameNode reports with a replica on a DataNode the
 * Balancer does not know (not in its live-node map, e.g. a node that is being
 * decommissioned) must not make the Balancer's iteration hang.
 *
 * An unbalanced two-DataNode cluster is balanced by one Balancer iteration whose
 * NamenodeProtocol proxy adds an unknown DataNode as the first location of every
 * block getBlocks() returns. The iteration runs in its own thread and must end;
 * on the stock code the null location makes the source's BlockMoveDispatcher die
 * with a NullPointerException while its tentative move still sits in the
 * target's queue, and the iteration never returns.
 *
 * The hang is recognised by its own state rather than by waiting it out: the
 * iteration is in Balancer.waitForMoveCompletion (so every dispatcher has ended),
 * a dispatcher died with a NullPointerException, and a target still holds a
 * pending move that was never handed to a mover (no proxy source). Only the
 * dispatcher that queued such a move can take it off again, so from then on the
 * wait cannot end. A bound stays for any other way the iteration could hang.
 */
public class TestHdfs6364BalancerUnknownDatanode {
  private static final String PKG = "org.apache.hadoop.hdfs.server.balancer.";
  private static final int BLOCK_SIZE = 100;
  private static final long CAPACITY = 1000L;
  private static final String RACK = "/rack0";
  private static final String UNKNOWN_UUID = "hpatch-unknown-datanode-uuid";
  private static final String UNKNOWN_STORAGE = "hpatch-unknown-storage";
  /** A healthy iteration moving one 100-byte block takes about a second. */
  private static final long ITERATION_BOUND_MS = 60000L;
  private static final long POLL_MS = 100L;

  private MiniDFSCluster cluster;
  private Object connector;
  private final AtomicInteger injected = new AtomicInteger();
  private final List<Throwable> dispatcherFailures =
      Collections.synchronizedList(new ArrayList<Throwable>());
  private final AppenderSkeleton failureCatcher = new AppenderSkeleton() {
    @Override
    protected void append(LoggingEvent event) {
      String message = String.valueOf(event.getMessage());
      if (message.startsWith("Dispatcher thread")) {
        Throwable t = event.getThrowableInformation() == null
            ? new Exception(message) : event.getThrowableInformation().getThrowable();
        dispatcherFailures.add(t);
      }
    }

    @Override
    public void close() {
    }

    @Override
    public boolean requiresLayout() {
      return false;
    }
  };

  @Before
  public void setUp() {
    Logger.getLogger(Balancer.class).addAppender(failureCatcher);
  }

  @After
  public void tearDown() throws Exception {
    Logger.getLogger(Balancer.class).removeAppender(failureCatcher);
    if (connector != null) {
      try {
        Method close = connector.getClass().getDeclaredMethod("close");
        close.setAccessible(true);
        close.invoke(connector);
      } catch (Exception ignored) {
        // the stuck balancer of the stock code may still hold it
      }
    }
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  @Test(timeout = 240000)
  public void unknownDatanodeDoesNotHangTheBalancer() throws Exception {
    Configuration conf = new HdfsConfiguration();
    conf.setLong(DFSConfigKeys.DFS_BLOCK_SIZE_KEY, BLOCK_SIZE);
    conf.setInt(DFSConfigKeys.DFS_BYTES_PER_CHECKSUM_KEY, BLOCK_SIZE);
    conf.setLong("dfs.namenode.fs-limits.min-block-size", 0L);
    conf.setLong(DFSConfigKeys.DFS_HEARTBEAT_INTERVAL_KEY, 1L);
    conf.setLong(DFSConfigKeys.DFS_NAMENODE_REPLICATION_INTERVAL_KEY, 1L);
    SimulatedFSDataset.setFactory(conf);

    // one DataNode 60% full, then an empty one: the first is over-utilized, the
    // second under-utilized, both on the same rack
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1)
        .racks(new String[] {RACK}).simulatedCapacities(new long[] {CAPACITY}).build();
    cluster.waitActive();
    FileSystem fs = cluster.getFileSystem();
    DFSTestUtil.createFile(fs, new Path("/hpatch/hdfs-6364"), 6 * BLOCK_SIZE, (short) 1, 0L);
    cluster.startDataNodes(conf, 1, true, null, new String[] {RACK}, new long[] {CAPACITY});
    cluster.waitActive();
    waitForUsage(6L * BLOCK_SIZE, 2 * CAPACITY);

    URI uri = cluster.getURI(0);
    Class<?> nncClass = Class.forName(PKG + "NameNodeConnector");
    Constructor<?> nncNew = nncClass.getDeclaredConstructor(URI.class, Configuration.class);
    nncNew.setAccessible(true);
    connector = nncNew.newInstance(uri, conf);
    Field namenode = nncClass.getDeclaredField("namenode");
    namenode.setAccessible(true);
    namenode.set(connector, withUnknownLocations((NamenodeProtocol) namenode.get(connector)));

    Method setWait = Balancer.class.getDeclaredMethod("setBlockMoveWaitTime", long.class);
    setWait.setAccessible(true);
    setWait.invoke(null, 100L);
    Class<?> paramsClass = Class.forName(PKG + "Balancer$Parameters");
    Field defaults = paramsClass.getDeclaredField("DEFALUT");
    defaults.setAccessible(true);
    Constructor<Balancer> balancerNew =
        Balancer.class.getDeclaredConstructor(nncClass, paramsClass, Configuration.class);
    balancerNew.setAccessible(true);
    final Balancer balancer = balancerNew.newInstance(connector, defaults.get(null), conf);
    final Method run = Balancer.class.getDeclaredMethod(
        "run", int.class, Formatter.class, Configuration.class);
    run.setAccessible(true);
    final Configuration balancerConf = conf;

    final AtomicReference<Object> result = new AtomicReference<Object>();
    final AtomicReference<Throwable> error = new AtomicReference<Throwable>();
    Thread iteration = new Thread("hpatch-balancer-iteration") {
      @Override
      public void run() {
        try {
          result.set(run.invoke(balancer, 0, new Formatter(System.out), balancerConf));
        } catch (InvocationTargetException e) {
          error.set(e.getCause());
        } catch (Throwable t) {
          error.set(t);
        }
      }
    };
    iteration.setDaemon(true);
    iteration.start();
    String stuck = null;
    long deadline = System.currentTimeMillis() + ITERATION_BOUND_MS;
    while (iteration.isAlive() && stuck == null && System.currentTimeMillis() < deadline) {
      iteration.join(POLL_MS);
      stuck = stuckMove(balancer, iteration);
    }

    if (error.get() != null) {
      throw new AssertionError("setup: the balancer iteration failed: " + error.get(), error.get());
    }
    assertTrue("setup: the balancer never asked the NameNode for blocks, so no block "
        + "was reported on an unknown DataNode", injected.get() > 0);
    if (iteration.isAlive()) {
      fail("The balancer iteration has not returned after blocks were reported on a"
          + " DataNode it does not know: it hangs (dispatcher failures: "
          + describe(dispatcherFailures) + "; "
          + (stuck != null ? stuck : "still running after " + ITERATION_BOUND_MS / 1000 + " s")
          + "; stuck at " + topFrames(iteration) + ")");
    }
    assertTrue("setup: the iteration returned no status", result.get() != null);
    for (Throwable t : new ArrayList<Throwable>(dispatcherFailures)) {
      assertFalse("A BlockMoveDispatcher died with " + t + " on a block located on an "
          + "unknown DataNode", t instanceof NullPointerException);
    }
  }

  /**
   * The hang's own state, or null: the iteration waits for move completion (all
   * dispatchers have ended), a dispatcher died with a NullPointerException, and a
   * target holds a pending move that no mover was given (its proxy source is
   * null), which only its dead dispatcher could have removed.
   */
  private String stuckMove(Balancer balancer, Thread iteration) throws Exception {
    boolean waiting = false;
    for (StackTraceElement e : iteration.getStackTrace()) {
      if (e.getClassName().equals(Balancer.class.getName())
          && e.getMethodName().equals("waitForMoveCompletion")) {
        waiting = true;
      }
    }
    boolean npe = false;
    synchronized (dispatcherFailures) {
      for (Throwable t : dispatcherFailures) {
        npe |= t instanceof NullPointerException;
      }
    }
    if (!waiting || !npe) {
      return null;
    }
    Field targetsField = Balancer.class.getDeclaredField("targets");
    targetsField.setAccessible(true);
    Class<?> nodeClass = Class.forName(PKG + "Balancer$BalancerDatanode");
    Field pendingField = nodeClass.getDeclaredField("pendingBlocks");
    pendingField.setAccessible(true);
    Field datanodeField = nodeClass.getDeclaredField("datanode");
    datanodeField.setAccessible(true);
    Field proxyField = Class.forName(PKG + "Balancer$PendingBlockMove")
        .getDeclaredField("proxySource");
    proxyField.setAccessible(true);
    for (Object target : new ArrayList<Object>((Collection<?>) targetsField.get(balancer))) {
      List<Object> pending;
      synchronized (target) { // BalancerDatanode guards its queue with its own monitor
        pending = new ArrayList<Object>((List<?>) pendingField.get(target));
      }
      for (Object move : pending) {
        if (proxyField.get(move) == null) {
          return "a move to " + datanodeField.get(target) + " stays pending with no "
              + "dispatcher left to run or cancel it";
        }
      }
    }
    return null;
  }

  /** Waits until the NameNode sees both DataNodes with the expected usage. */
  private void waitForUsage(long used, long capacity) throws Exception {
    while (true) {
      DatanodeInfo[] live = cluster.getFileSystem().getClient()
          .datanodeReport(DatanodeReportType.LIVE);
      long u = 0;
      long c = 0;
      for (DatanodeInfo d : live) {
        u += d.getDfsUsed();
        c += d.getCapacity();
      }
      if (live.length == 2 && u == used && c == capacity) {
        return;
      }
      cluster.triggerHeartbeats();
      Thread.sleep(100);
    }
  }

  /** A NamenodeProtocol whose getBlocks() also places every block on an unknown node. */
  private NamenodeProtocol withUnknownLocations(final NamenodeProtocol real) {
    return (NamenodeProtocol) Proxy.newProxyInstance(
        NamenodeProtocol.class.getClassLoader(), new Class<?>[] {NamenodeProtocol.class},
        new InvocationHandler() {
          @Override
          public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            Object value;
            try {
              value = method.invoke(real, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
            if (!method.getName().equals("getBlocks")) {
              return value;
            }
            BlockWithLocations[] blocks = ((BlocksWithLocations) value).getBlocks();
            BlockWithLocations[] changed = new BlockWithLocations[blocks.length];
            for (int i = 0; i < blocks.length; i++) {
              changed[i] = new BlockWithLocations(blocks[i].getBlock(),
                  prepend(UNKNOWN_UUID, blocks[i].getDatanodeUuids()),
                  prepend(UNKNOWN_STORAGE, blocks[i].getStorageIDs()));
            }
            injected.addAndGet(blocks.length);
            return new BlocksWithLocations(changed);
          }
        });
  }

  private static String[] prepend(String first, String[] rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  private static String describe(List<Throwable> failures) {
    synchronized (failures) {
      if (failures.isEmpty()) {
        return "none logged";
      }
      List<String> names = new ArrayList<String>();
      for (Throwable t : failures) {
        names.add(String.valueOf(t));
      }
      return names.toString();
    }
  }

  private static String topFrames(Thread thread) {
    StackTraceElement[] stack = thread.getStackTrace();
    List<String> frames = new ArrayList<String>();
    for (StackTraceElement e : stack) {
      if (e.getClassName().startsWith("org.apache.hadoop.hdfs.server.balancer")) {
        frames.add(e.getClassName().replace(PKG, "") + "." + e.getMethodName());
      }
      if (frames.size() == 2) {
        break;
      }
    }
    return frames.isEmpty() ? Arrays.toString(Arrays.copyOf(stack, Math.min(3, stack.length)))
        : frames.toString();
  }
}
