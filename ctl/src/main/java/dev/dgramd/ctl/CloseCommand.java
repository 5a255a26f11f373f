package dev.dgramd.ctl;

import dev.dgramd.proto.v1.CloseSocketRequest;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code dgramctl close SOCKET}: closes a socket as its owner's Close would. */
@Command(name = "close", mixinStandardHelpOptions = true,
        description = {
            "Closes a socket: its owner's Events stream gets 'close' and ends. Closing",
            "a socket closed not long ago is not an error.",
            ""
        })
final class CloseCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Dgramctl ctl;

    @Parameters(paramLabel = "SOCKET", description = "The socket id, or a prefix only it has.")
    String socket;

    @Override
    public void run() {
        boolean already;
        String id;
        try (Connection daemon = ctl.connect()) {
            id = daemon.socketId(socket, spec.commandLine());
            already = daemon.admin().closeSocket(CloseSocketRequest.newBuilder().setSocketId(id).build())
                    .getAlreadyClosed();
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(already ? id + " was closed already" : "closed " + id);
        out.flush();
    }
}
