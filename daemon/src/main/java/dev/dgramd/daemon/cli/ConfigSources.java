package dev.dgramd.daemon.cli;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * The values of {@code dgramd}'s options that the command line does not give: from the environment
 * ({@code --max-message-bytes} is {@code DGRAMD_MAX_MESSAGE_BYTES}), else from the config file (Java
 * properties; the key is the long option name without its dashes, {@code max-message-bytes}), else
 * the option's built-in default. Picocli asks a default provider only for options not on the command
 * line, so the precedence is flag &gt; environment &gt; file &gt; default.
 *
 * <p>The file is named by {@code --config FILE} (or {@code --config=FILE}) or by {@code DGRAMD_CONFIG},
 * and read before the command line is parsed, so that a bad file fails before anything starts.
 */
final class ConfigSources implements CommandLine.IDefaultValueProvider {
    static final String CONFIG_OPTION = "--config";
    private static final String ENV_PREFIX = "DGRAMD_";

    private final CommandSpec command;
    private final Map<String, String> env;
    private final Path file;
    private final Properties fileValues;
    /** The options this provider gave a value, and where it came from. */
    private final Map<OptionSpec, String> supplied = new HashMap<>();

    private ConfigSources(CommandSpec command, Map<String, String> env, Path file, Properties fileValues) {
        this.command = command;
        this.env = env;
        this.file = file;
        this.fileValues = fileValues;
    }

    /**
     * Reads the config file named by {@code args} or {@code env}, if any.
     *
     * @throws ParameterException when the file cannot be read or holds a key that is not an option
     */
    static ConfigSources load(CommandLine commandLine, String[] args, Map<String, String> env) {
        CommandSpec command = commandLine.getCommandSpec();
        String named = configArgument(args);
        if (named == null) {
            named = env.get(envName(command.findOption(CONFIG_OPTION)));
        }
        if (named == null || named.isEmpty()) {
            return new ConfigSources(command, env, null, new Properties());
        }
        Path file = Path.of(named);
        Properties values = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            values.load(r);
        } catch (IOException | IllegalArgumentException e) {
            throw new ParameterException(commandLine, "cannot read config file " + file + ": " + describe(e));
        }
        TreeSet<String> known = configurable(command).stream().map(ConfigSources::key)
                .collect(Collectors.toCollection(TreeSet::new));
        for (String key : new TreeSet<>(values.stringPropertyNames())) {
            if (!known.contains(key)) {
                throw new ParameterException(commandLine, "config file " + file + ": unknown key '" + key
                        + "' (known keys: " + String.join(", ", known) + ")");
            }
        }
        return new ConfigSources(command, env, file, values);
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.command() != command) {
            return null;
        }
        if (option.longestName().equals(CONFIG_OPTION)) {
            return env.get(envName(option));
        }
        if (!isConfigurable(option)) {
            return null;
        }
        String name = envName(option);
        if (env.containsKey(name)) {
            supplied.put(option, "environment variable " + name);
            return env.get(name);
        }
        if (fileValues.containsKey(key(option))) {
            supplied.put(option, "config file " + file + ", key " + key(option));
            return fileValues.getProperty(key(option));
        }
        return null;
    }

    /**
     * Where the value of {@code arg} came from when not from the command line, for error messages:
     * "environment variable DGRAMD_LISTEN" or "config file dgramd.properties"; null for a flag or a
     * built-in default.
     */
    String origin(ArgSpec arg) {
        CommandLine.ParseResult parsed = command.commandLine().getParseResult();
        if (!(arg instanceof OptionSpec option) || (parsed != null && parsed.hasMatchedOption(option))) {
            return null;
        }
        return supplied.get(option);
    }

    /** The options a file or the environment may set: every long option but --config, --help, --version. */
    static List<OptionSpec> configurable(CommandSpec command) {
        return command.options().stream().filter(ConfigSources::isConfigurable).collect(Collectors.toList());
    }

    /** {@code DGRAMD_EVENT_LOOP_THREADS} for {@code --event-loop-threads}. */
    static String envName(OptionSpec option) {
        return ENV_PREFIX + key(option).replace('-', '_').toUpperCase(Locale.ROOT);
    }

    /** {@code event-loop-threads} for {@code --event-loop-threads}: the config file key. */
    static String key(OptionSpec option) {
        return option.longestName().replaceFirst("^--", "");
    }

    private static boolean isConfigurable(OptionSpec option) {
        return option.longestName().startsWith("--") && !option.usageHelp() && !option.versionHelp()
                && !option.longestName().equals(CONFIG_OPTION);
    }

    /** The value of {@code --config FILE} or {@code --config=FILE} in {@code args}, else null. */
    private static String configArgument(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--")) {
                return null;
            }
            if (args[i].equals(CONFIG_OPTION) && i + 1 < args.length) {
                return args[i + 1];
            }
            if (args[i].startsWith(CONFIG_OPTION + "=")) {
                return args[i].substring(CONFIG_OPTION.length() + 1);
            }
        }
        return null;
    }

    private static String describe(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
