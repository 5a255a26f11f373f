package dev.dgramd.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The dgramd benchmark: every scenario on loopback, side by side with Node.js's dgram (the
 * baseline) and plain Netty (the ceiling); prints a table and writes JSON under bench/results.
 *
 * <pre>java -jar bench/target/dgramd-bench.jar [--scenarios inbound,outbound,echo,control,scale,cold]
 *     [--quick] [--out bench/results]
 * java -jar bench/target/dgramd-bench.jar --jmh [JMH options]</pre>
 */
public final class BenchMain {
    private BenchMain() {}

    /** What a run produced. */
    record Result(List<Row> rows, Map<String, String> failures, Path json, double seconds) {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--jmh")) {
            // the microbenchmarks (dev.dgramd.bench.jmh), with JMH's own command line
            org.openjdk.jmh.Main.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Options options;
        try {
            options = Options.parse(args);
        } catch (Options.UsageException e) {
            if (e.getMessage() != null) {
                System.err.println(e.getMessage());
            }
            System.err.println(Options.USAGE);
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        } catch (NumberFormatException e) {
            System.err.println("bad number: " + e.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        int code;
        try {
            Result r = run(options, System.out);
            code = r.failures().isEmpty() ? 0 : 1;
        } catch (Exception e) {
            e.printStackTrace();
            code = 1;
        }
        System.exit(code);
    }

    /** Runs the chosen scenarios, prints the table on {@code out}, writes the JSON file. */
    static Result run(Options options, PrintStream out) throws IOException {
        LocalDateTime started = LocalDateTime.now();
        String stamp = started.format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        long t0 = System.nanoTime();
        List<Row> rows = new ArrayList<>();
        Map<String, String> failures = new LinkedHashMap<>();
        Map<String, Object> meta = new LinkedHashMap<>();
        jdk.jfr.Recording jfr = null;
        Map<String, Double> generatorMaxima = new java.util.TreeMap<>();
        try (Env env = new Env(options, stamp)) {
            if (options.jfr != null) {
                try {
                    jfr = new jdk.jfr.Recording(jdk.jfr.Configuration.getConfiguration("profile"));
                } catch (java.text.ParseException e) {
                    throw new IOException("JFR's profile settings do not parse", e);
                }
                jfr.setDestination(options.jfr.toAbsolutePath().resolve("bench.jfr"));
                jfr.start();
            }
            meta.put("started", started.toString());
            meta.put("quick", options.quick);
            meta.put("scenarios", new ArrayList<>(options.scenarios));
            meta.put("sizes", options.sizes);
            meta.put("cores", Runtime.getRuntime().availableProcessors());
            meta.put("kernel", System.getProperty("os.name") + " " + System.getProperty("os.version"));
            meta.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
            meta.put("node", env.hasNode() ? env.nodeVersion() : null);
            meta.put("daemon", options.inProcessDaemon ? "in-process"
                    : env.daemonJar() != null ? env.daemonJar().toString() : "bench class path");
            meta.put("daemonJvmOptions", options.inProcessDaemon ? List.of()
                    : Daemon.jvmOptions(options.daemonJvmOptions, options.shippedJvmOptions));
            meta.put("daemonListen", options.unixSocket ? "unix" : "127.0.0.1:0"); // of the spawned daemons
            meta.put("daemonJava", env.daemonJava());
            meta.put("receiveBufferBytes", Env.RCVBUF);
            meta.put("logs", env.logs().toString());
            Machine.Reading before = env.cpuReading();
            Env.sleep(1000);
            double idleBusy = env.cpuReading().foreignSince(before);
            meta.put("otherProcessesShareBeforeStart", Math.round(idleBusy * 1000) / 1000.0);
            meta.put("loadAverageAtStart", Machine.loadAverage());
            if (idleBusy > 0.10) {
                System.err.printf("warning: other processes used %.0f%% of the machine's CPUs before the"
                        + " bench started; figures will be noisy%n", idleBusy * 100);
            }
            Map<String, Object> scenarioBusy = new LinkedHashMap<>();
            meta.put("otherProcessesShareOfMachine", scenarioBusy);
            System.err.printf("dgramd bench: %s%s; node %s; daemon %s; logs in %s%n",
                    String.join(",", options.scenarios), options.quick ? " (quick)" : "",
                    env.hasNode() ? env.nodeVersion() : "absent (no baseline)", meta.get("daemon"),
                    env.logs());
            for (String scenario : options.scenarios) {
                long s0 = System.nanoTime();
                Machine.Reading m0 = env.cpuReading();
                System.err.println("== " + scenario);
                try {
                    List<Row> got = switch (scenario) {
                        case "inbound" -> Inbound.run(env);
                        case "outbound" -> Outbound.run(env);
                        case "echo" -> Echo.run(env);
                        case "control" -> Control.run(env);
                        case "scale" -> Scale.run(env);
                        case "cold" -> Cold.run(env);
                        default -> throw new IllegalArgumentException(scenario);
                    };
                    rows.addAll(got);
                } catch (Exception e) {
                    failures.put(scenario, e.toString());
                    System.err.println("scenario " + scenario + " FAILED: " + e);
                    e.printStackTrace();
                }
                generatorMaxima.putAll(env.generatorMaxima());
                double foreign = env.cpuReading().foreignSince(m0);
                scenarioBusy.put(scenario, Math.round(foreign * 1000) / 1000.0);
                System.err.printf("== %s took %.1f s; other processes used %.0f%% of the machine%s%n",
                        scenario, (System.nanoTime() - s0) / 1e9, foreign * 100,
                        foreign > 0.10 ? ": figures disturbed" : "");
            }
        } finally {
            if (jfr != null) {
                jfr.stop();
                jfr.close();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        meta.put("loadAverageAtEnd", Machine.loadAverage());
        Map<String, Object> gen = new LinkedHashMap<>();
        generatorMaxima.forEach((size, rate) -> gen.put(size, Math.round(rate)));
        meta.put("generatorMaxRateBySize", gen);
        ratios(rows);
        List<Map<String, Object>> targets = targets(rows);
        @SuppressWarnings("unchecked")
        Map<String, Object> busy = (Map<String, Object>) meta.getOrDefault(
                "otherProcessesShareOfMachine", Map.of());
        out.print(table(rows, failures, targets, busy, seconds));
        generatorMaxima.forEach((size, rate) -> out.printf(Locale.ROOT,
                "load generator's own maximum at %s: %,.0f dgram/s (flat out into a sink of its own)%n", size, rate));
        out.flush();
        meta.put("seconds", Math.round(seconds * 10) / 10.0);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("meta", meta);
        List<Object> jr = new ArrayList<>();
        for (Row r : rows) {
            jr.add(r.toJson());
        }
        doc.put("rows", jr);
        doc.put("targets", targets);
        doc.put("failures", failures);
        Files.createDirectories(options.out);
        Path json = options.out.resolve("bench-" + stamp + (options.quick ? "-quick" : "") + ".json");
        Files.writeString(json, Json.pretty(doc), StandardCharsets.UTF_8);
        out.println("results: " + json);
        return new Result(rows, failures, json, seconds);
    }

    /** Each row's figure over Node's in the same scenario and size. */
    static void ratios(List<Row> rows) {
        for (Row r : rows) {
            for (Row n : rows) {
                if (n.impl.equals("node") && n.scenario.equals(r.scenario) && n.size.equals(r.size)
                        && n.figure > 0) {
                    r.ratio = r.figure / n.figure;
                }
            }
        }
    }

    private static Row find(List<Row> rows, String scenario, String size, String impl) {
        for (Row r : rows) {
            if (r.scenario.equals(scenario) && r.size.equals(size) && r.impl.equals(impl)) {
                return r;
            }
        }
        return null;
    }

    /** The targets of issue 11 that this run's rows can judge. */
    static List<Map<String, Object>> targets(List<Row> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        // the default client, and (where the run has it) the one with listeners on the event loop
        for (String impl : List.of("dgramd", "dgramd-loop")) {
            for (String s : List.of("inbound", "outbound")) {
                for (String size : List.of("64", "1200")) {
                    Row d = find(rows, s, size, impl);
                    Row netty = find(rows, s, size, "netty");
                    if (d != null && d.ratio != null) {
                        out.add(target(s + " " + size + " B: " + impl + " >= 1.3x node", String.format(Locale.ROOT,
                                "%s%.2fx", d.lowerBound ? ">=" : "", d.ratio), d.ratio >= 1.3));
                    }
                    if (d != null && netty != null && netty.figure > 0) {
                        double vsNetty = d.figure / netty.figure;
                        out.add(target(s + " " + size + " B: " + impl + " >= 0.85x netty in-process",
                                String.format(Locale.ROOT, "%.2fx", vsNetty), vsNetty >= 0.85));
                    }
                }
            }
            for (String[] p : new String[][] {{"echo p50", "2"}, {"echo p99", "2.5"}}) {
                Row d = find(rows, p[0], "64", impl);
                if (d != null && d.ratio != null) {
                    double limit = Double.parseDouble(p[1]);
                    out.add(target(p[0] + ": " + impl + " <= " + p[1] + "x node", String.format(Locale.ROOT,
                            "%.2fx", d.ratio), d.ratio <= limit));
                }
            }
        }
        for (Row r : rows) {
            if (r.scenario.equals("scale held") && r.impl.equals("dgramd") && r.size.equals("10000")) {
                out.add(target("10,000 sockets held in <= 128 MiB daemon RSS",
                        String.format(Locale.ROOT, "%.1f MiB", r.figure), r.figure <= 128));
            }
            if (r.scenario.equals("scale time") && r.impl.equals("dgramd") && r.size.equals("10000")) {
                out.add(target("10,000 sockets created in <= 1 s",
                        String.format(Locale.ROOT, "%.2f s", r.figure), r.figure <= 1));
            }
        }
        for (String s : List.of("cold in", "cold out")) {
            for (Row d : rows) {
                if (d.scenario.equals(s) && d.impl.equals("dgramd") && d.ratio != null) {
                    out.add(target(s + " " + d.size + " B (fresh, 3 s): dgramd >= 0.8x node",
                            String.format(Locale.ROOT, "%s%.2fx", d.lowerBound ? ">=" : "", d.ratio),
                            d.ratio >= 0.8));
                }
            }
        }
        for (Row r : rows) {
            if (r.scenario.equals("cold gc") && r.impl.equals("dgramd") && r.details.containsKey("gcPauses")) {
                int pauses = ((Number) r.details.get("gcPauses")).intValue();
                // no collection in the window measures nothing: not met
                out.add(target("daemon's longest GC pause at 200,000/s < 2 ms", pauses == 0
                        ? "no GC in the window" : String.format(Locale.ROOT, "%.2f ms (%d pauses)", r.figure, pauses),
                        pauses > 0 && r.figure < 2));
            }
        }
        for (String impl : List.of("dgramd", "dgramd-loop")) {
            Row control8 = find(rows, "control c=8", "-", impl);
            if (control8 != null) {
                out.add(target("control c=8: " + impl + " >= 25,000 create+bind+close cycles/s",
                        String.format(Locale.ROOT, "%.0f/s", control8.figure), control8.figure >= 25_000));
            }
        }
        return out;
    }

    private static Map<String, Object> target(String what, String reached, boolean met) {
        return Json.obj("target", what, "reached", reached, "met", met);
    }

    static String table(List<Row> rows, Map<String, String> failures,
            List<Map<String, Object>> targets, Map<String, Object> busy, double seconds) {
        StringBuilder sb = new StringBuilder();
        String fmt = "%-12s %-6s %-11s %14s %-9s %8s  %s%n";
        sb.append('\n');
        sb.append(String.format(Locale.ROOT, fmt, "scenario", "size", "impl", "figure", "unit",
                "vs node", "cpu-s/M (per process)"));
        sb.append(String.format(Locale.ROOT, fmt, "-".repeat(12), "-".repeat(6), "-".repeat(11),
                "-".repeat(14), "-".repeat(9), "-".repeat(8), "-".repeat(40)));
        for (Row r : rows) {
            StringBuilder cpu = new StringBuilder();
            r.cpuPerMillion.forEach((k, v) -> cpu.append(cpu.length() > 0 ? " " : "").append(k)
                    .append('=').append(Double.isNaN(v) ? "?" : String.format(Locale.ROOT, "%.2f", v)));
            sb.append(String.format(Locale.ROOT, fmt, r.scenario, r.size, r.impl, figure(r), r.unit,
                    r.ratio == null ? "-" : String.format(Locale.ROOT, "%.2fx", r.ratio), cpu));
        }
        sb.append('\n');
        sb.append("vs node: figure / Node's figure (for us, MiB and s, lower is better);"
                + " >= : no loss even at the\n  load generator's maximum rate, the figure is a lower"
                + " bound.\n");
        sb.append("cpu-s/M: CPU seconds (user+system) per million datagrams (control: cycles;"
                + " scale: sockets);\n  bench = this JVM (the dgramd Java client, or the in-process"
                + " Netty reference), daemon = the\n  dgramd daemon's JVM, node = the Node peer,"
                + " peer(gen)/peer(sink) = the Netty load generator/sink JVM.\n");
        if (!targets.isEmpty()) {
            sb.append("\ntargets (issue 11):\n");
            for (Map<String, Object> t : targets) {
                sb.append(String.format(Locale.ROOT, "  %-52s %-22s %s%n", t.get("target"),
                        t.get("reached"), Boolean.TRUE.equals(t.get("met")) ? "met" : "NOT MET"));
            }
        }
        for (Map.Entry<String, String> f : failures.entrySet()) {
            sb.append("FAILED ").append(f.getKey()).append(": ").append(f.getValue()).append('\n');
        }
        if (!busy.isEmpty()) {
            sb.append("\nother processes' share of the machine (all CPUs) per scenario:");
            busy.forEach((k, v) -> sb.append(String.format(Locale.ROOT, " %s %.0f%%", k,
                    v instanceof Number n ? n.doubleValue() * 100 : Double.NaN)));
            sb.append('\n');
        }
        sb.append(String.format(Locale.ROOT, "%ntook %.0f s%n", seconds));
        return sb.toString();
    }

    private static String figure(Row r) {
        return (r.lowerBound ? ">=" : "") + switch (r.unit) {
            case "us", "MiB" -> String.format(Locale.ROOT, "%,.1f", r.figure);
            case "s", "ms" -> String.format(Locale.ROOT, "%,.2f", r.figure);
            default -> String.format(Locale.ROOT, "%,.0f", r.figure);
        };
    }
}
