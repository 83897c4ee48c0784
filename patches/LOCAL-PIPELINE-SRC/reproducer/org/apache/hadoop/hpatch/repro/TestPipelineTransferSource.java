package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.lang.reflect.Field;
import java.util.Arrays;

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
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * LOCAL-PIPELINE-SRC: pipeline recovery must copy the replica to the new
 * DataNode from a DataNode that really holds the bytes it acked.
 *
 * The post-mortem's pipeline is DN1 -> DN2 -> DN3. DN2's write to disk was
 * interrupted after DN3 had acked the packet, so DN2 acked more bytes than it
 * has on disk; then DN3 dropped out of the pipeline (a timeout: DN3 itself
 * stayed up). The client copies the replica to the replacement DataNode from a
 * DataNode that stays in the pipeline; on DN2 that copy fails with "Need N
 * bytes, but only M bytes available", the client is not told, the new
 * DataNode has no replica and cannot join, and the client burns through every
 * DataNode of the cluster ("Failed to replace a bad datanode on the existing
 * pipeline due to no more good datanodes being available to try").
 *
 * Here both DataNodes that stay in the pipeline claim acked bytes they do not
 * have on disk (their acked length is raised past their length on disk): which
 * of them the stock client copies from depends on where the NameNode places
 * the new DataNode in the pipeline, and that is random from 2.6 on, so only
 * both make the stock failure certain. The last DataNode leaves the pipeline
 * the way DN3 did: its receiver thread for the block stops (the upstream
 * DataNode reports it as bad), while the DataNode stays up with its replica,
 * which holds every byte it acked. The write must still complete.
 */
public class TestPipelineTransferSource {
  private static final int DATANODES = 5;
  private static final int WRITTEN = 8192;
  /** Bytes a replica claims as acked beyond what it has on disk. */
  private static final int LOST = 65536;
  private static final int MORE = 4096;

  private MiniDFSCluster cluster;

  @Before
  public void startCluster() throws IOException {
    Configuration conf = new Configuration();
    conf.setInt("dfs.replication", 3);
    conf.setBoolean("dfs.client.block.write.replace-datanode-on-failure.enable", true);
    conf.set("dfs.client.block.write.replace-datanode-on-failure.policy", "ALWAYS");
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(DATANODES).build();
    cluster.waitActive();
  }

  @After
  public void stopCluster() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  @Test(timeout = 240000)
  public void writeSurvivesAFailureWhenAnUpstreamReplicaLostAckedBytes() throws Exception {
    FileSystem fs = cluster.getFileSystem();
    Path file = new Path("/hpatch/pipeline-transfer-source");
    byte[] data = new byte[WRITTEN + MORE];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i * 31 + 7);
    }

    FSDataOutputStream out = fs.create(file, (short) 3);
    out.write(data, 0, WRITTEN);
    out.hflush();
    DFSOutputStream dfsOut = (DFSOutputStream) out.getWrappedStream();
    DatanodeInfo[] pipeline = dfsOut.getPipeline();
    assertNotNull("setup: the stream has no pipeline", pipeline);
    assertEquals("setup: pipeline " + Arrays.asList(pipeline), 3, pipeline.length);
    LocatedBlocks blocks = ((DistributedFileSystem) fs).getClient()
        .getLocatedBlocks(file.toUri().getPath(), 0);
    assertTrue("setup: the file has no block: " + blocks,
        blocks != null && blocks.locatedBlockCount() == 1);
    ExtendedBlock block = blocks.get(0).getBlock();

    // The two upstream DataNodes: acked bytes beyond what they have on disk.
    for (int i = 0; i < 2; i++) {
      ReplicaInPipelineInterface replica = replicaOn(pipeline[i], block);
      assertEquals("setup: acked bytes of " + replica, WRITTEN, replica.getBytesAcked());
      // an upstream DataNode may finish its own write to disk after the ack
      long diskDeadline = System.currentTimeMillis() + 60000;
      while (replica.getBytesOnDisk() < WRITTEN) {
        assertTrue("setup: bytes on disk of " + replica + " never reached " + WRITTEN,
            System.currentTimeMillis() < diskDeadline);
        Thread.sleep(50);
      }
      assertEquals("setup: bytes on disk of " + replica, WRITTEN, replica.getBytesOnDisk());
      replica.setBytesAcked(WRITTEN + LOST);
    }

    // The last DataNode leaves the pipeline but stays up with its replica.
    DatanodeInfo last = pipeline[2];
    Thread receiver = writerOf(replicaOn(last, block));
    assertNotNull("setup: no receiver thread for the block on " + last, receiver);
    receiver.interrupt();
    receiver.join(60000);
    assertFalse("setup: the receiver thread on " + last + " did not stop", receiver.isAlive());
    long deadline = System.currentTimeMillis() + 120000;
    while (Arrays.asList(dfsOut.getPipeline()).contains(last)) {
      assertTrue("setup: the client never took " + last + " out of the pipeline",
          System.currentTimeMillis() < deadline);
      Thread.sleep(50);
    }

    try {
      out.write(data, WRITTEN, MORE);
      out.close();
    } catch (IOException e) {
      fail("the write could not complete after " + last + " left the pipeline: pipeline "
          + "recovery copied the replica from a DataNode that acked bytes it does not have "
          + "on disk and ran out of DataNodes: " + e);
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

  @SuppressWarnings("deprecation")
  private ReplicaInPipelineInterface replicaOn(DatanodeInfo info, ExtendedBlock block) {
    DataNode dn = null;
    for (DataNode candidate : cluster.getDataNodes()) {
      if (candidate.getXferPort() == info.getXferPort()) {
        dn = candidate;
      }
    }
    assertNotNull("setup: no DataNode for " + info, dn);
    // the DataNode's own replica object, not a copy
    Replica replica = DataNodeTestUtils.getFSDataset(dn).getReplica(block.getBlockPoolId(),
        block.getBlockId());
    assertTrue("setup: the replica on " + info + " is not being written: " + replica,
        replica instanceof ReplicaInPipelineInterface);
    return (ReplicaInPipelineInterface) replica;
  }

  /** The DataNode thread that receives the replica's packets. */
  private static Thread writerOf(Object replica) throws IllegalAccessException {
    for (Class<?> c = replica.getClass(); c != null; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (field.getName().equals("writer") && field.getType() == Thread.class) {
          field.setAccessible(true);
          return (Thread) field.get(replica);
        }
      }
    }
    return null;
  }
}
