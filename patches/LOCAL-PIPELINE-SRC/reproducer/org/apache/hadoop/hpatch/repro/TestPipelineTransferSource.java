package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.FileOutputStream;
import java.io.IOException;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DFSOutputStream;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.protocol.DatanodeInfo;
import org.apache.hadoop.hdfs.protocol.ExtendedBlock;
import org.apache.hadoop.hdfs.protocol.LocatedBlocks;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.apache.hadoop.hdfs.server.datanode.DataNodeTestUtils;
import org.apache.hadoop.hdfs.server.datanode.ReplicaInPipelineInterface;
import org.apache.hadoop.hdfs.server.datanode.Replica;
import org.apache.hadoop.net.StandardSocketFactory;
import org.apache.hadoop.util.Daemon;
import org.apache.log4j.AppenderSkeleton;
import org.apache.log4j.Logger;
import org.apache.log4j.spi.LoggingEvent;
import org.apache.log4j.spi.ThrowableInformation;
import org.junit.After;
import org.junit.Test;

/**
 * LOCAL-PIPELINE-SRC: pipeline recovery must copy the replica to the new
 * DataNode from a DataNode that really holds the bytes it acked.
 *
 * The post-mortem's pipeline is DN1 -> DN2 -> DN3. DN2 had mirrored a packet to
 * DN3 and queued its ack, then its own write to disk stalled in
 * adjustCrcChannelPosition (FileChannel.position). DN3 acked the packet, so DN2
 * acked bytes it did not have; DN3 then timed out waiting for DN2's next packet
 * and left the pipeline, staying up with its replica. The recovery copied the
 * replica to the replacement DataNode from DN2 ("Need N bytes, but only M bytes
 * available"), the client was not told, and when the recovery interrupted
 * DN2's stalled writer (ClosedByInterruptException) the packet was lost for
 * good: every new DataNode got nothing and was refused, until none was left.
 *
 * Here that happens through the real write path: the test holds the monitor of
 * the middle DataNode's checksum file stream, which its writer takes first
 * thing in adjustCrcChannelPosition (FileOutputStream.getChannel), for one
 * packet that ends less than a packet after a chunk boundary. The writer has
 * queued the ack and mirrored the packet downstream by then, so the last
 * DataNode writes and acks it; the middle one stays short by that packet. The
 * stall lasts until the recovery interrupts the writer (recoverRbw ->
 * stopWriter), as it did in the post-mortem; the writer then fails in
 * FileChannel.position with ClosedByInterruptException and the packet never
 * reaches its disk. The last DataNode leaves by the post-mortem's timeout.
 *
 * In a second case the first DataNode dies instead, so the short DataNode
 * is the first one of the recovery pipeline. Releases before 2.7.2 copy from
 * the new DataNode's neighbour and fail the first case; from 2.7.2 on,
 * HDFS-9106 copies from the first DataNode of the pipeline, again after every
 * silent failure, and fails the second. A fix must survive both. (A short
 * first DataNode of the original pipeline does not stay: its stalled writer
 * stops answering the client, which takes that DataNode out itself.)
 * The client runs on an address of its own (127.0.0.2, as a client host that
 * is no DataNode), so the NameNode orders the recovery pipeline the same way
 * every time and the stock client copies from the middle DataNode.
 *
 * A third case puts the first-dies state on two racks. On one rack every
 * network distance is equal, so the NameNode leaves the DataNode it adds at
 * the end of the recovery pipeline, and its neighbour is the last DataNode,
 * which has the bytes. With racks, BlockPlacementPolicyDefault.getPipeline
 * orders the pipeline by distance from its first DataNode: when the short
 * DataNode and the new one share a rack and the last DataNode is on another,
 * the new one lands right after the short one, which becomes the copy source
 * on every release (the neighbour rule, and HDFS-9106's original[0]). The
 * cluster has four DataNodes on one rack and one on another, so the NameNode
 * places a block's replicas on [rack A, rack A, lone rack] four times in
 * five (the test writes new files until it does) and every DataNode it can
 * add lies on rack A. The case also checks the fix's own order: no copy may
 * come from the short DataNode, whatever order the racks give the pipeline.
 */
public class TestPipelineTransferSource {
  private static final int DATANODES = 5;
  /** Not a multiple of the 512-byte chunk: the next packet starts mid-chunk. */
  private static final int WRITTEN = 8000;
  /** The packet the middle DataNode acks but never writes: less than a packet. */
  private static final int LOST = 1000;
  private static final int MORE = 4096;
  private static final int SOCKET_TIMEOUT_MS = 4000;
  private static final String CLIENT_ADDRESS = "127.0.0.2";
  /** Which DataNode of the pipeline leaves it. */
  private static final int FIRST = 0;
  private static final int LAST = 2;
  private static final String RACK = "/rack-a";
  private static final String LONE_RACK = "/rack-b";
  private static final String[] RACKS = {RACK, RACK, RACK, RACK, LONE_RACK};
  /** What BlockSender logs when the source lacks bytes it acked. */
  private static final String SHORT_SOURCE = "bytes, but only";

  private MiniDFSCluster cluster;

  private void startCluster(String[] racks) throws IOException {
    Configuration conf = new Configuration();
    conf.setInt("dfs.replication", 3);
    conf.setBoolean("dfs.client.block.write.replace-datanode-on-failure.enable", true);
    conf.set("dfs.client.block.write.replace-datanode-on-failure.policy", "ALWAYS");
    conf.setInt("dfs.client.socket-timeout", SOCKET_TIMEOUT_MS);
    MiniDFSCluster.Builder builder = new MiniDFSCluster.Builder(conf).numDataNodes(DATANODES);
    if (racks != null) {
      builder.racks(racks);
    }
    cluster = builder.build();
    cluster.waitActive();
  }

  @After
  public void stopCluster() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  /** Sockets of a client on a host that runs no DataNode. */
  public static class OtherClientHost extends StandardSocketFactory {
    @Override
    public Socket createSocket() throws IOException {
      Socket socket = super.createSocket();
      socket.bind(new InetSocketAddress(CLIENT_ADDRESS, 0));
      return socket;
    }
  }

  /** The DataNodes' log lines of a copy from a source that lacks bytes it acked. */
  public static class ShortSourceLog extends AppenderSkeleton {
    final List<String> seen = Collections.synchronizedList(new ArrayList<String>());

    @Override
    protected void append(LoggingEvent event) {
      ThrowableInformation thrown = event.getThrowableInformation();
      String text = event.getRenderedMessage()
          + (thrown != null && thrown.getThrowable() != null ? " " + thrown.getThrowable() : "");
      if (text.contains(SHORT_SOURCE)) {
        seen.add(text);
      }
    }

    @Override
    public void close() {
    }

    @Override
    public boolean requiresLayout() {
      return false;
    }
  }

  /** The post-mortem: the middle DataNode is short, the last one times out. */
  @Test(timeout = 240000)
  public void writeSurvivesAFailureWhenTheMiddleReplicaLostAckedBytes() throws Exception {
    startCluster(null);
    writeAsOtherHost(LAST, false);
  }

  /**
   * The same short middle DataNode, but the first DataNode of the pipeline
   * dies instead (a crash, a restart): the short DataNode is then the first
   * one of the recovery pipeline.
   */
  @Test(timeout = 240000)
  public void writeSurvivesAFailureWhenTheFirstDataNodeDiesAndTheNextLostAckedBytes()
      throws Exception {
    startCluster(null);
    writeAsOtherHost(FIRST, false);
  }

  /**
   * The first DataNode dies and the next one is short, on two racks: the
   * pipeline is [rack A, rack A (short), lone rack], so the DataNode the
   * NameNode adds is on rack A and getPipeline puts it right after the short
   * one.
   */
  @Test(timeout = 240000)
  public void writeSurvivesAFailureWhenRacksPutTheNewDataNodeAfterTheShortOne()
      throws Exception {
    startCluster(RACKS);
    writeAsOtherHost(FIRST, true);
  }

  private void writeAsOtherHost(int leaving, boolean racks) throws Exception {
    Configuration clientConf = new Configuration(cluster.getConfiguration(0));
    clientConf.set("hadoop.rpc.socket.factory.class.default", OtherClientHost.class.getName());
    FileSystem fs = FileSystem.newInstance(cluster.getURI(0), clientConf);
    ShortSourceLog log = new ShortSourceLog();
    Logger.getRootLogger().addAppender(log);
    try {
      writeWithShortReplica(fs, leaving, racks ? log : null);
    } finally {
      Logger.getRootLogger().removeAppender(log);
      fs.close();
    }
  }

  /** Whether the NameNode placed the replicas as the rack case needs. */
  private static boolean onRacks(DatanodeInfo[] pipeline) {
    return pipeline != null && pipeline.length == 3
        && RACK.equals(pipeline[0].getNetworkLocation())
        && RACK.equals(pipeline[1].getNetworkLocation())
        && LONE_RACK.equals(pipeline[2].getNetworkLocation());
  }

  /**
   * Write, leave a short replica on the middle DataNode, take one DataNode
   * out and finish the write. With shortSources (the rack case), the
   * pipeline must be laid out on the racks, and a failed write must come
   * from a copy out of the short DataNode.
   */
  private void writeWithShortReplica(FileSystem fs, final int leaving,
      ShortSourceLog shortSources) throws Exception {
    final int shortIndex = 1;
    byte[] data = new byte[WRITTEN + LOST + MORE];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31 + 7);
    }

    Path file;
    FSDataOutputStream out;
    DFSOutputStream dfsOut;
    DatanodeInfo[] pipeline;
    for (int attempt = 0; ; attempt++) {
      file = new Path("/hpatch/pipeline-transfer-source-" + leaving + "-" + attempt);
      out = fs.create(file, (short) 3);
      out.write(data, 0, WRITTEN);
      out.hflush();
      dfsOut = (DFSOutputStream) out.getWrappedStream();
      pipeline = dfsOut.getPipeline();
      assertNotNull("setup: the stream has no pipeline", pipeline);
      assertEquals("setup: pipeline " + Arrays.asList(pipeline), 3, pipeline.length);
      if (shortSources == null || onRacks(pipeline)) {
        break;
      }
      out.close();
      assertTrue("setup: in " + (attempt + 1) + " files the NameNode never placed a block "
          + "on [" + RACK + ", " + RACK + ", " + LONE_RACK + "]", attempt < 40);
    }
    LocatedBlocks blocks = ((DistributedFileSystem) fs).getClient()
        .getLocatedBlocks(file.toUri().getPath(), 0);
    assertTrue("setup: the file has no block: " + blocks,
        blocks != null && blocks.locatedBlockCount() == 1);
    ExtendedBlock block = blocks.get(0).getBlock();
    for (DatanodeInfo dn : pipeline) {
      waitOnDisk(replicaOn(dn, block), WRITTEN);
    }

    // The short DataNode's writer stalls at the start of its next disk write.
    final ReplicaInPipelineInterface shortReplica = replicaOn(pipeline[shortIndex], block);
    final Thread writer = writerOf(shortReplica);
    assertNotNull("setup: no writer thread for the block on " + pipeline[shortIndex], writer);
    final Object checksumFile = checksumStreamOf(shortReplica);
    final CountDownLatch stalled = new CountDownLatch(1);
    final AtomicBoolean interrupted = new AtomicBoolean();
    final AtomicBoolean released = new AtomicBoolean();
    Thread disk = new Thread("hpatch-stalled-disk") {
      @Override
      public void run() {
        synchronized (checksumFile) {
          stalled.countDown();
          long until = System.currentTimeMillis() + 180000;
          while (writer.isAlive() && !writer.isInterrupted() && !released.get()
              && System.currentTimeMillis() < until) {
            try {
              Thread.sleep(10);
            } catch (InterruptedException e) {
              return;
            }
          }
          interrupted.set(writer.isInterrupted());
        }
      }
    };
    disk.setDaemon(true);
    disk.start();
    stalled.await();

    DatanodeInfo shortNode = pipeline[shortIndex];
    out.write(data, WRITTEN, LOST);
    out.hflush();
    assertEquals("setup: acked bytes of " + shortReplica, WRITTEN + LOST,
        shortReplica.getBytesAcked());
    assertEquals("setup: bytes on disk of " + shortReplica, WRITTEN,
        shortReplica.getBytesOnDisk());
    ReplicaInPipelineInterface lastReplica = replicaOn(pipeline[2], block);
    waitOnDisk(lastReplica, WRITTEN + LOST);

    DatanodeInfo left = pipeline[leaving];
    if (leaving == FIRST) {
      // The first DataNode dies; the client takes it out of the pipeline.
      assertNotNull("setup: could not stop " + left, cluster.stopDataNode(left.getXferAddr()));
    }
    // Else the last DataNode times out waiting for the stalled one's next
    // packet and leaves the pipeline, staying up with its replica.
    // From 2.7.2 on (HDFS-9178) the client may take the stalled DataNode out
    // itself: then the short replica leaves the pipeline, the state of the
    // post-mortem does not arise, and the write must simply go on.
    boolean shortLeft = false;
    long deadline = System.currentTimeMillis() + 120000;
    while (true) {
      java.util.List<DatanodeInfo> now = Arrays.asList(dfsOut.getPipeline());
      if (!now.contains(left)) {
        break;
      }
      if (!now.contains(shortNode)) {
        shortLeft = true;
        released.set(true);
        break;
      }
      assertTrue("setup: the client never took " + left + " out of the pipeline",
          System.currentTimeMillis() < deadline);
      Thread.sleep(50);
    }

    IOException failure = null;
    try {
      out.write(data, WRITTEN + LOST, MORE);
      out.close();
    } catch (IOException e) {
      failure = e;
    }
    released.set(true);
    disk.join(180000);
    assertTrue("setup: the recovery never interrupted the stalled writer on "
        + pipeline[shortIndex], shortLeft || interrupted.get());
    if (shortSources != null) {
      checkRackCase(pipeline, shortNode, shortLeft, failure, shortSources);
    }
    if (failure != null) {
      fail("the write could not complete after " + left + " left the pipeline "
          + Arrays.asList(pipeline) + ": pipeline recovery copied the replica from a DataNode "
          + "that acked bytes it does not have on disk (" + shortNode + ", the middle one) "
          + "and ran out of DataNodes: " + failure);
    }

    byte[] back = new byte[data.length];
    FSDataInputStream in = fs.open(file);
    try {
      in.readFully(0, back);
    } finally {
      in.close();
    }
    assertEquals("file length", data.length, fs.getFileStatus(file).getLen());
    assertArrayEquals("file content", data, back);
  }

  /**
   * The rack case fails for the bug's own reason only: the recovery copied
   * from the short DataNode (its "Need N bytes, but only M bytes available").
   * A write that survived must not have copied from it either: the fix's
   * order must pick a DataNode with the bytes however racks order the
   * pipeline.
   */
  private static void checkRackCase(DatanodeInfo[] pipeline, DatanodeInfo shortNode,
      boolean shortLeft, IOException failure, ShortSourceLog shortSources) {
    assertTrue("setup: the client took the short DataNode " + shortNode + " out of "
        + Arrays.asList(pipeline) + " itself", !shortLeft);
    List<String> seen = new ArrayList<String>(shortSources.seen);
    if (failure != null) {
      assertTrue("setup: the write failed, but no copy came from the short DataNode "
          + shortNode + ": " + failure, !seen.isEmpty());
      String line = seen.get(0);
      int need = line.lastIndexOf("Need ", line.indexOf(SHORT_SOURCE));
      String shown = need >= 0 ? line.substring(need) : line;
      fail("the write could not complete after " + pipeline[FIRST] + " left the pipeline "
          + Arrays.asList(pipeline) + " on racks [" + RACK + ", " + RACK + ", " + LONE_RACK
          + "]: pipeline recovery copied the replica to the DataNode it added on " + RACK
          + " from the short DataNode " + shortNode + " (\"" + shown
          + "\") and ran out of DataNodes: " + failure);
    }
    assertTrue("the write completed, but pipeline recovery first copied the replica from "
        + "the short DataNode " + shortNode + " when racks reordered the pipeline: "
        + seen, seen.isEmpty());
  }

  private static void waitOnDisk(ReplicaInPipelineInterface replica, long length)
      throws InterruptedException {
    // a DataNode may finish its own write to disk after the ack
    long deadline = System.currentTimeMillis() + 60000;
    while (replica.getBytesOnDisk() < length) {
      assertTrue("setup: bytes on disk of " + replica + " never reached " + length,
          System.currentTimeMillis() < deadline);
      Thread.sleep(20);
    }
  }

  /**
   * The checksum file stream the DataNode writes the replica's checksums to,
   * found through the block's PacketResponder (an inner class of its
   * BlockReceiver).
   */
  private static Object checksumStreamOf(Object replica) throws Exception {
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (!(t instanceof Daemon)) {
        continue;
      }
      Runnable r = ((Daemon) t).getRunnable();
      if (r == null || !r.getClass().getName().endsWith("BlockReceiver$PacketResponder")) {
        continue;
      }
      Field outer = r.getClass().getDeclaredField("this$0");
      outer.setAccessible(true);
      Object receiver = outer.get(r);
      Field info = receiver.getClass().getDeclaredField("replicaInfo");
      info.setAccessible(true);
      if (info.get(receiver) != replica) {
        continue;
      }
      Field streams = receiver.getClass().getDeclaredField("streams");
      streams.setAccessible(true);
      Object s = streams.get(receiver);
      Object checksumOut = s.getClass().getMethod("getChecksumOut").invoke(s);
      assertTrue("setup: the checksum stream is not a file: " + checksumOut,
          checksumOut instanceof FileOutputStream);
      return checksumOut;
    }
    fail("setup: no PacketResponder for " + replica);
    return null;
  }

  private DataNode dataNodeOf(DatanodeInfo info) {
    DataNode dn = null;
    for (DataNode candidate : cluster.getDataNodes()) {
      if (candidate.getXferPort() == info.getXferPort()) {
        dn = candidate;
      }
    }
    assertNotNull("setup: no DataNode for " + info, dn);
    return dn;
  }

  @SuppressWarnings("deprecation")
  private ReplicaInPipelineInterface replicaOn(DatanodeInfo info, ExtendedBlock block) {
    DataNode dn = dataNodeOf(info);
    // the DataNode's own replica object, not a copy
    Replica replica = DataNodeTestUtils.getFSDataset(dn).getReplica(block.getBlockPoolId(),
        block.getBlockId());
    assertTrue("setup: the replica on " + info + " is not being written: " + replica,
        replica instanceof ReplicaInPipelineInterface);
    return (ReplicaInPipelineInterface) replica;
  }

  /**
   * The DataNode thread that receives the replica's packets: a Thread field
   * until 2.7, an AtomicReference to one from 2.8 on.
   */
  private static Thread writerOf(Object replica) throws IllegalAccessException {
    for (Class<?> c = replica.getClass(); c != null; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (!field.getName().equals("writer")) {
          continue;
        }
        field.setAccessible(true);
        Object value = field.get(replica);
        if (value instanceof java.util.concurrent.atomic.AtomicReference) {
          value = ((java.util.concurrent.atomic.AtomicReference<?>) value).get();
        }
        if (value instanceof Thread) {
          return (Thread) value;
        }
      }
    }
    return null;
  }
}
