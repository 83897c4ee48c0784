package org.apache.hadoop.hpatch.repro;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.FileWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.exceptions.YarnException;
import org.apache.hadoop.yarn.server.resourcemanager.ResourceManager;
import org.apache.hadoop.yarn.server.resourcemanager.rmapp.RMAppState;
import org.apache.hadoop.yarn.server.resourcemanager.rmapp.attempt.RMAppAttemptState;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.QueueMetrics;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.ResourceScheduler;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.event.AppAddedSchedulerEvent;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.event.AppAttemptAddedSchedulerEvent;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.event.AppAttemptRemovedSchedulerEvent;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.event.AppRemovedSchedulerEvent;
import org.apache.hadoop.yarn.server.resourcemanager.scheduler.fair.FairScheduler;
import org.junit.After;
import org.junit.Test;

/**
 * YARN-4493: moving a running application to a queue where the FairScheduler's
 * maxRunningApps limits do not let it run must be refused while the
 * application is still in its old queue. The stock scheduler takes the
 * application out of its queue first and then throws, so the application
 * belongs to no queue: it is never scheduled again and killing it fails with
 * "Given app to remove ... does not exist in queue".
 */
public class TestYarn4493MoveKeepsAppInQueue {

  private ResourceManager rm;

  @After
  public void tearDown() {
    if (rm != null) {
      try {
        rm.stop();
      } catch (RuntimeException ignored) {
        // the RM was only initialised; nothing of the test depends on stopping it
      }
      rm = null;
    }
    QueueMetrics.clearQueueMetrics();
    DefaultMetricsSystem.shutdown();
  }

  /** A FairScheduler, initialised by a ResourceManager, with these allocations. */
  private FairScheduler startScheduler(String allocations) throws IOException {
    File dir = new File(System.getProperty("test.build.data",
        System.getProperty("java.io.tmpdir")), "yarn-4493-" + System.nanoTime());
    assertTrue("setup: cannot create " + dir, dir.mkdirs());
    File allocFile = new File(dir, "fair-scheduler.xml");
    FileWriter out = new FileWriter(allocFile);
    try {
      out.write("<?xml version=\"1.0\"?>\n<allocations>\n" + allocations
          + "</allocations>\n");
    } finally {
      out.close();
    }
    Configuration conf = new YarnConfiguration();
    conf.setClass(YarnConfiguration.RM_SCHEDULER, FairScheduler.class,
        ResourceScheduler.class);
    conf.set("yarn.scheduler.fair.allocation.file", allocFile.getAbsolutePath());
    rm = new ResourceManager();
    rm.init(conf);
    ResourceScheduler scheduler = rm.getResourceScheduler();
    assertTrue("setup: the RM did not create a FairScheduler but " + scheduler,
        scheduler instanceof FairScheduler);
    return (FairScheduler) scheduler;
  }

  private static boolean inQueue(FairScheduler scheduler, String queue,
      ApplicationAttemptId attemptId) {
    List<ApplicationAttemptId> apps = scheduler.getAppsInQueue(queue);
    return apps != null && apps.contains(attemptId);
  }

  private static String stackOf(Throwable t) {
    StringWriter text = new StringWriter();
    t.printStackTrace(new PrintWriter(text));
    return text.toString();
  }

  @Test(timeout = 120000)
  public void refusedMoveLeavesAppInItsQueue() throws Exception {
    // alice may run one application at a time; her one running application
    // cannot become runnable in another queue while it counts against her.
    FairScheduler scheduler = startScheduler(
        "  <queue name=\"queue1\"/>\n"
        + "  <queue name=\"queue2\"/>\n"
        + "  <user name=\"alice\"><maxRunningApps>1</maxRunningApps></user>\n");
    assertNotNull("setup: queue2 is not configured",
        scheduler.getAppsInQueue("queue2"));

    ApplicationId appId = ApplicationId.newInstance(System.currentTimeMillis(), 1);
    ApplicationAttemptId attemptId = ApplicationAttemptId.newInstance(appId, 1);
    scheduler.handle(new AppAddedSchedulerEvent(appId, "queue1", "alice"));
    scheduler.handle(new AppAttemptAddedSchedulerEvent(attemptId, false));
    assertTrue("setup: the application is not in queue1 after submission",
        inQueue(scheduler, "queue1", attemptId));

    Throwable moveFailure = null;
    try {
      scheduler.moveApplication(appId, "queue2");
    } catch (YarnException e) {
      moveFailure = e;
    } catch (RuntimeException e) {
      moveFailure = e;
    }

    boolean stillQueued = inQueue(scheduler, "queue1", attemptId)
        || inQueue(scheduler, "queue2", attemptId);
    assertTrue("after moving the application to queue2 (where alice's maxRunningApps "
        + "does not let it run) it belongs to no queue any more, so it is never "
        + "scheduled again; the move failed with: " + moveFailure, stillQueued);

    if (moveFailure != null) {
      assertTrue("the refused move did not fail with a YarnException the client "
          + "is told about, but with " + stackOf(moveFailure),
          moveFailure instanceof YarnException);
      assertTrue("the refused move took the application out of queue1",
          inQueue(scheduler, "queue1", attemptId));
      assertFalse("the refused move left the application in queue2 as well",
          inQueue(scheduler, "queue2", attemptId));
    }

    // Killing the application must work wherever it is now.
    try {
      scheduler.handle(new AppAttemptRemovedSchedulerEvent(attemptId,
          RMAppAttemptState.KILLED, false));
      scheduler.handle(new AppRemovedSchedulerEvent(appId, RMAppState.KILLED));
    } catch (RuntimeException e) {
      fail("killing the application after the move attempt failed: " + stackOf(e));
    }
    assertFalse("the killed application is still listed in queue1",
        inQueue(scheduler, "queue1", attemptId));
    assertFalse("the killed application is still listed in queue2",
        inQueue(scheduler, "queue2", attemptId));
  }
}
