package dev.dgramd.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.DoubleSupplier;

/** CPU seconds of named processes over an interval. */
final class Cpu {
    /** One process whose CPU time is read. */
    record Source(String name, DoubleSupplier seconds) {
        static Source pid(String name, long pid) {
            return new Source(name, () -> ProcStats.cpuSeconds(pid));
        }

        static Source self(String name) {
            return new Source(name, ProcStats::selfCpuSeconds);
        }
    }

    private final List<Source> sources;
    private final double[] start;

    private Cpu(List<Source> sources) {
        this.sources = List.copyOf(sources);
        this.start = new double[sources.size()];
        for (int i = 0; i < start.length; i++) {
            start[i] = this.sources.get(i).seconds().getAsDouble();
        }
    }

    /** Starts measuring these processes. */
    static Cpu start(List<Source> sources) {
        return new Cpu(sources);
    }

    /** CPU seconds each process used since {@link #start}, by name. */
    Map<String, Double> stop() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < start.length; i++) {
            out.put(sources.get(i).name(), sources.get(i).seconds().getAsDouble() - start[i]);
        }
        return out;
    }

    /** Seconds per million units (datagrams, cycles, sockets) of each process. */
    static Map<String, Double> perMillion(Map<String, Double> seconds, double units) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, Double> e : seconds.entrySet()) {
            out.put(e.getKey(), units > 0 ? e.getValue() / units * 1e6 : Double.NaN);
        }
        return out;
    }
}
