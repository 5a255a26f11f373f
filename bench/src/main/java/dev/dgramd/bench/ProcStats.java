package dev.dgramd.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time and resident memory of processes, from /proc (and the JVM for itself). */
final class ProcStats {
    private ProcStats() {}

    /** Clock ticks per second of /proc/PID/stat (sysconf(_SC_CLK_TCK)); 100 on Linux x86-64. */
    static final double CLK_TCK = 100.0;

    /** Seconds of CPU (user + system) the process used so far; NaN when it is gone. */
    static double cpuSeconds(long pid) {
        if (pid == ProcessHandle.current().pid()) {
            return selfCpuSeconds();
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command name (field 2) is in parentheses and may contain spaces: split after it
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            // f[0] is field 3 (state): utime is field 14, stime field 15
            long utime = Long.parseLong(f[11]);
            long stime = Long.parseLong(f[12]);
            return (utime + stime) / CLK_TCK;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Seconds of CPU this JVM used so far (every thread: JIT and GC included). */
    static double selfCpuSeconds() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            long ns = sun.getProcessCpuTime();
            if (ns >= 0) {
                return ns / 1e9;
            }
        }
        return cpuSecondsFromProc();
    }

    private static double cpuSecondsFromProc() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / CLK_TCK;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** A line of /proc/PID/status in kB ("VmRSS", "VmHWM"); -1 when unknown. */
    static long statusKb(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field + ":")) {
                    String[] f = line.substring(field.length() + 1).trim().split("\\s+");
                    return Long.parseLong(f[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return -1;
    }

    /** The resident set of the process, in kB. */
    static long rssKb(long pid) {
        return statusKb(pid, "VmRSS");
    }
}
