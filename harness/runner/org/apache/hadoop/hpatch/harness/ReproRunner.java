package org.apache.hadoop.hpatch.harness;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Request;
import org.junit.runner.manipulation.Filter;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * Runs one reproducer class and prints, between markers, one line per test:
 * its status and, for a failure, the exception's class, message and top frames.
 * hpatch grades from these lines alone, so a run can be re-graded from its log.
 *
 * <p>A second argument, a comma-separated list of method names, runs only those
 * methods: an upstream test class holds many tests, and only the ones its fix
 * added or changed are known to fail before the fix and pass after it.
 */
public final class ReproRunner {
  private static final String BEGIN = "HPATCH-RESULT-BEGIN";
  private static final String END = "HPATCH-RESULT-END";
  private static final int FRAMES = 60;  // deep enough to see a changed method under a crash

  private ReproRunner() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 2) {
      System.err.println("usage: ReproRunner <test class> [method,method...]");
      System.exit(2);
    }
    Class<?> test = Class.forName(args[0]);
    Request request = Request.aClass(test);
    if (args.length == 2 && !args[1].trim().isEmpty()) {
      request = request.filterWith(methods(args[1].split(",")));
    }
    final List<String> lines = new ArrayList<String>();
    JUnitCore core = new JUnitCore();
    core.addListener(new RunListener() {
      private String current;
      private boolean reported;

      @Override
      public void testStarted(Description d) {
        current = d.getMethodName();
        reported = false;
      }

      @Override
      public void testFailure(Failure f) {
        lines.add(describe(name(f.getDescription()), "failed", f.getException()));
        reported = true;
      }

      @Override
      public void testAssumptionFailure(Failure f) {
        lines.add(describe(name(f.getDescription()), "skipped", f.getException()));
        reported = true;
      }

      @Override
      public void testIgnored(Description d) {
        lines.add("test=" + esc(name(d)) + "\tstatus=skipped\texception=@Ignore");
      }

      @Override
      public void testFinished(Description d) {
        if (!reported) {
          lines.add("test=" + esc(name(d)) + "\tstatus=passed");
        }
        current = null;
      }

      private String name(Description d) {
        return d.getMethodName() != null ? d.getMethodName() : String.valueOf(current);
      }
    });
    long start = System.nanoTime();
    org.junit.runner.Result result = core.run(request);
    long millis = (System.nanoTime() - start) / 1000000L;
    System.out.flush();
    System.err.flush();
    StringBuilder out = new StringBuilder();
    out.append('\n').append(BEGIN).append('\n');
    out.append("class=").append(esc(test.getName())).append("\tmillis=").append(millis)
        .append("\trun=").append(result.getRunCount()).append('\n');
    for (String line : lines) {
      out.append(line).append('\n');
    }
    out.append(END).append('\n');
    System.out.print(out);
    System.out.flush();
    System.exit(result.wasSuccessful() ? 0 : 1);
  }

  /**
   * Keeps the named methods (a parameterized test's "name[0]" counts as "name")
   * and the suites holding them.
   */
  private static Filter methods(String[] names) {
    final Set<String> wanted = new HashSet<String>();
    for (String name : names) {
      if (!name.trim().isEmpty()) {
        wanted.add(name.trim());
      }
    }
    return new Filter() {
      @Override
      public boolean shouldRun(Description d) {
        String method = d.getMethodName();
        if (method == null) {
          for (Description child : d.getChildren()) {
            if (shouldRun(child)) {
              return true;
            }
          }
          return false;
        }
        int bracket = method.indexOf('[');
        return wanted.contains(bracket < 0 ? method : method.substring(0, bracket));
      }

      @Override
      public String describe() {
        return "methods " + Arrays.toString(wanted.toArray());
      }
    };
  }

  private static String describe(String test, String status, Throwable t) {
    StringBuilder b = new StringBuilder();
    b.append("test=").append(esc(test)).append("\tstatus=").append(status);
    if (t != null) {
      b.append("\texception=").append(esc(t.getClass().getName()));
      b.append("\tmessage=").append(esc(String.valueOf(t.getMessage())));
      StringBuilder fs = new StringBuilder();
      // The exception's frames, then each cause's: a wrapped exception passes through them.
      int depth = 0;
      for (Throwable c = t; c != null && depth < 5; c = c.getCause(), depth++) {
        StackTraceElement[] frames = c.getStackTrace();
        for (int i = 0; i < frames.length && i < FRAMES; i++) {
          if (fs.length() > 0) {
            fs.append(';');
          }
          fs.append(frames[i].getClassName()).append('.').append(frames[i].getMethodName());
        }
        if (c.getCause() == c) {
          break;
        }
      }
      b.append("\tframes=").append(esc(fs.toString()));
      if (t.getCause() != null && t.getCause() != t) {
        b.append("\tcaused=1");
      }
    }
    return b.toString();
  }

  /** Keep one field on one line: tabs and newlines are escaped. */
  private static String esc(String s) {
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "");
  }
}
