package dev.dgramd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import dev.dgramd.daemon.ExternalTools.Result;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The contract follows the protobuf style guide and v1 does not break: {@code buf lint} and
 * {@code buf breaking}, configured by buf.yaml at the repository root, with the buf CLI pinned in
 * tools/buf (installed here by {@code npm ci}).
 *
 * <p>Breaking is checked against the previous commit (HEAD~1, as git has it), category WIRE_JSON.
 * It is skipped, with the reason, when there is no previous commit (no git, or a shallow clone) and
 * when that commit predates the buf-checked contract (it has no buf.yaml). Without npm the test is
 * skipped, except when the environment variable CI is set: there it is a failure.
 */
class BufContractIT {
    private static final Path TOOL = ExternalTools.ROOT.resolve("tools/buf");
    private static final Path BUF = TOOL.resolve("node_modules/.bin/buf");
    private static final Duration NPM_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration BUF_TIMEOUT = Duration.ofSeconds(120);

    private static void installBuf() throws Exception {
        ExternalTools.requireOnPath("npm", "install the buf CLI (tools/buf)", "Install Node.js 20+ with npm.");
        Result npm = ExternalTools.run(TOOL, NPM_TIMEOUT, "npm", "ci", "--no-audit", "--no-fund");
        assertThat(npm.exitCode()).as("exit code of npm ci in %s; output:%n%s", TOOL, npm.output()).isZero();
        assertThat(BUF).as("the buf CLI").isExecutable();
    }

    @Test
    void lintPasses() throws Exception {
        installBuf();
        Result lint = ExternalTools.run(ExternalTools.ROOT, BUF_TIMEOUT, BUF.toString(), "lint");
        assertThat(lint.exitCode()).as("exit code of buf lint; output:%n%s", lint.output()).isZero();
    }

    @Test
    void nothingBreaksAgainstThePreviousCommit() throws Exception {
        Result previous = ExternalTools.run(ExternalTools.ROOT, BUF_TIMEOUT, "git", "rev-parse", "--verify", "--quiet",
                "HEAD~1^{commit}");
        Assumptions.assumeTrue(previous.exitCode() == 0, "no previous commit to compare the contract with (not a git"
                + " clone, or a shallow one): buf breaking skipped");
        String commit = previous.output().strip();
        Result config = ExternalTools.run(ExternalTools.ROOT, BUF_TIMEOUT, "git", "cat-file", "-e", commit + ":buf.yaml");
        Assumptions.assumeTrue(config.exitCode() == 0, "the previous commit " + commit + " predates the buf-checked"
                + " contract (it has no buf.yaml): buf breaking skipped");
        installBuf();
        Result breaking = ExternalTools.run(ExternalTools.ROOT, BUF_TIMEOUT, BUF.toString(), "breaking",
                "--against", ".git#ref=" + commit);
        assertThat(breaking.exitCode()).as("exit code of buf breaking --against .git#ref=%s (HEAD~1); output:%n%s",
                commit, breaking.output()).isZero();
    }
}
