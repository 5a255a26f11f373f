package dev.dgramd.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The command side of a bench child process ({@link Peer}, {@link ColdClient}): one JSON command
 * per line on stdin, one JSON answer per line on stdout (which carries nothing else: the child's
 * own output goes to stderr). A command that throws is answered {@code {"error": ...}}.
 */
final class CommandLoop {
    /** What a handler answers to end the loop (after that answer is written). */
    static final Map<String, Object> QUIT = Map.of("ok", true);

    /** Answers one command. */
    interface Handler {
        Map<String, Object> answer(String name, Map<String, Object> cmd);
    }

    private final PrintStream out;

    /** Takes stdout for the answers and sends {@code System.out} to stderr. */
    CommandLoop() {
        this.out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        System.setOut(System.err); // nothing but answers on stdout
    }

    /** Writes one line (the child's first, e.g. {@code {"ready": true}}). */
    void say(Map<String, Object> line) {
        out.println(Json.write(line));
    }

    /** Answers commands until stdin ends or the handler answers {@link #QUIT}. */
    void run(Handler handler) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, Object> answer;
            try {
                Map<String, Object> cmd = Json.parseObject(line);
                answer = handler.answer(String.valueOf(cmd.get("cmd")), cmd);
            } catch (RuntimeException e) {
                answer = Json.obj("error", e.toString());
            }
            say(answer);
            if (answer == QUIT) {
                return;
            }
        }
    }

    /** The number under {@code key}, or {@code dflt}. */
    static Number num(Map<String, Object> cmd, String key, Number dflt) {
        Object v = cmd.get(key);
        return v instanceof Number n ? n : dflt;
    }
}
