package dev.dgramd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Machine-wide CPU use, from /proc/stat: the bench shares the machine with whatever else runs. */
final class Machine {
    private Machine() {}

    /** [busy, total] jiffies of all CPUs so far; null when /proc/stat cannot be read. */
    static long[] cpuJiffies() {
        try {
            String first = Files.readAllLines(Path.of("/proc/stat")).get(0); // "cpu  user nice system idle iowait ..."
            String[] f = first.trim().split("\\s+");
            // user nice system idle iowait irq softirq steal: busy is user + nice + system, what
            // processes are charged with (irq and softirq time, much of it our loopback traffic's,
            // is charged to no process: it is counted neither as ours nor as others')
            long total = 0;
            long busy = 0;
            for (int i = 1; i < f.length && i <= 8; i++) {
                long v = Long.parseLong(f[i]);
                total += v;
                if (i <= 3) {
                    busy += v;
                }
            }
            return new long[] {busy, total};
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * CPU seconds used so far by this JVM, its reaped children (cutime + cstime) and the given
     * live processes: the bench's own share of the machine.
     */
    static double ownCpuSeconds(Iterable<Long> livePids) {
        double sum = ProcStats.selfCpuSeconds();
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            sum += (Long.parseLong(f[13]) + Long.parseLong(f[14])) / ProcStats.CLK_TCK; // cutime, cstime
        } catch (IOException | RuntimeException e) {
            // unknown: count what is alive only
        }
        for (long pid : livePids) {
            double s = ProcStats.cpuSeconds(pid);
            if (!Double.isNaN(s)) {
                sum += s;
            }
        }
        return sum;
    }

    /** A reading of machine and own CPU, to tell how much of the machine others used meanwhile. */
    record Reading(long[] jiffies, double own) {
        static Reading now(Iterable<Long> livePids) {
            return new Reading(cpuJiffies(), ownCpuSeconds(livePids));
        }

        /**
         * The fraction of the whole machine (all CPUs) that other processes used since {@code
         * before}; NaN when unknown. Children that started and ended in between are counted as
         * ours through cutime; a child still alive but started after {@code before} is counted whole.
         */
        double foreignSince(Reading before) {
            if (jiffies == null || before.jiffies == null || jiffies[1] == before.jiffies[1]) {
                return Double.NaN;
            }
            double busy = (jiffies[0] - before.jiffies[0]) / ProcStats.CLK_TCK;
            double total = (jiffies[1] - before.jiffies[1]) / ProcStats.CLK_TCK;
            return Math.max(0, busy - (own - before.own)) / total;
        }
    }

    /** /proc/loadavg's first three figures, or "?". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }
}
