package dev.dgramd.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/** One line of the results: a figure of one implementation in one scenario. */
final class Row {
    final String scenario;
    final String size;
    final String impl;
    final double figure;
    final String unit;
    /** True when a smaller figure is better (latency, memory, time). */
    final boolean lowerIsBetter;
    /** CPU seconds per million units (datagrams, cycles or sockets), by process. */
    final Map<String, Double> cpuPerMillion;
    final Map<String, Object> details = new LinkedHashMap<>();
    Double ratio;
    /** True when the figure is only a lower bound (the load generator's own limit was reached). */
    boolean lowerBound;

    Row(String scenario, String size, String impl, double figure, String unit,
            boolean lowerIsBetter, Map<String, Double> cpuPerMillion) {
        this.scenario = scenario;
        this.size = size;
        this.impl = impl;
        this.figure = figure;
        this.unit = unit;
        this.lowerIsBetter = lowerIsBetter;
        this.cpuPerMillion = cpuPerMillion == null ? Map.of() : cpuPerMillion;
    }

    Row detail(String key, Object value) {
        details.put(key, value);
        return this;
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scenario", scenario);
        m.put("size", size);
        m.put("implementation", impl);
        m.put("figure", figure);
        m.put("unit", unit);
        m.put("lowerIsBetter", lowerIsBetter);
        m.put("ratioToNode", ratio);
        m.put("lowerBound", lowerBound);
        m.put("cpuSecondsPerMillion", cpuPerMillion);
        m.put("details", details);
        return m;
    }
}
