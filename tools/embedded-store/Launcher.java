import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * Embedded MongoDB-compatible store (mongo-java-server) for local runs and tests.
 *
 * <pre>
 * java -cp 'tools/embedded-store/lib/*' tools/embedded-store/Launcher.java --backend memory|h2 [--file PATH] [--port N]
 * </pre>
 *
 * Contract with src/store/embedded-store.ts: exactly one stdout line {@code mongodb://127.0.0.1:PORT} once the
 * server accepts connections; diagnostics on stderr; exit when stdin reaches EOF or on SIGTERM, closing the
 * backend first so H2 writes its file; non-zero exit on any start-up error.
 */
public final class Launcher {

    private static final String HOST = "127.0.0.1";

    /**
     * Node driver 7 refuses servers below wire version 9 (MongoDB 4.4), and 1.47.0's newest constant,
     * ServerVersion.MONGO_5_0, declares wire version 8. Wire 13 is what a real MongoDB 5.0 reports.
     */
    private static final MongoVersion DECLARED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    private record Options(String backend, Path file, int port) {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            fail(2, e.getMessage() + "\nusage: Launcher --backend memory|h2 [--file PATH] [--port N]");
            return;
        }

        MongoServer server;
        try {
            server = start(options);
        } catch (Exception e) {
            fail(1, "could not start the " + options.backend() + " store: " + describe(e));
            return;
        }

        AtomicBoolean closed = new AtomicBoolean();
        Runnable close = () -> {
            if (closed.compareAndSet(false, true)) {
                // shutdownNow drops client connections instead of waiting for them, then closes the backend,
                // which is what commits and closes the H2 file.
                server.shutdownNow();
            }
        };
        // Runs on SIGTERM/SIGINT and on the System.exit below; without it H2 loses its unsaved tail.
        Runtime.getRuntime().addShutdownHook(new Thread(close, "embedded-store-shutdown"));

        InetSocketAddress address = server.getLocalAddress();
        System.out.println("mongodb://" + HOST + ":" + address.getPort());
        System.out.flush();

        // Netty's event loop threads are non-daemon, so the JVM would outlive its parent without this: the
        // parent holds our stdin open for as long as it wants us, and EOF arrives even when it is SIGKILLed.
        awaitEof(System.in);
        System.exit(0);
    }

    private static MongoServer start(Options options) throws IOException {
        MongoBackend backend = switch (options.backend()) {
            case "memory" -> new MemoryBackend();
            case "h2" -> {
                Path parent = options.file().toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                // MVStore uses the name as given (no suffix added); a second process on the same file fails
                // here with "The file is locked".
                yield new H2Backend(options.file().toString());
            }
            default -> throw new IllegalStateException("unreachable backend " + options.backend());
        };
        MongoServer server = new MongoServer(backend.version(DECLARED_VERSION));
        // No enableOplog(): the gateway uses no change streams (events go through outboxes and the change log),
        // and the server's oplog is a collection that keeps a copy of every write and is never trimmed (no capped
        // collections here). At 1,000 adjusted items/s it more than doubled the heap's growth (~25 → ~11 MB/s)
        // and took ~10% of the server's CPU; the collector's pauses grew with the heap (BENCHMARKS.md, change feed).
        // bind() shuts the server (and so the backend) down itself when it throws.
        server.bind(HOST, options.port());
        return server;
    }

    private static Options parse(String[] args) {
        String backend = null;
        String file = null;
        int port = 0;
        for (int i = 0; i < args.length; i++) {
            String name = args[i];
            if (!name.equals("--backend") && !name.equals("--file") && !name.equals("--port")) {
                throw new IllegalArgumentException("unknown argument '" + name + "'");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(name + " needs a value");
            }
            String value = args[++i];
            switch (name) {
                case "--backend" -> backend = value;
                case "--file" -> file = value;
                default -> port = parsePort(value);
            }
        }
        if (backend == null) {
            throw new IllegalArgumentException("--backend is required");
        }
        if (!backend.equals("memory") && !backend.equals("h2")) {
            throw new IllegalArgumentException("expected --backend memory or h2, but got '" + backend + "'");
        }
        if (backend.equals("h2") && (file == null || file.isBlank())) {
            throw new IllegalArgumentException("--backend h2 needs --file PATH");
        }
        if (backend.equals("memory") && file != null) {
            throw new IllegalArgumentException("--file only applies to --backend h2");
        }
        return new Options(backend, file == null ? null : Path.of(file), port);
    }

    private static int parsePort(String value) {
        try {
            int port = Integer.parseInt(value);
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException ignored) {
            // reported below with the offending value
        }
        throw new IllegalArgumentException("expected --port between 0 and 65535, but got '" + value + "'");
    }

    private static void awaitEof(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) != -1) {
                // Input carries no meaning; only its end does.
            }
        } catch (IOException e) {
            // A broken stdin means the parent is gone, the same as EOF.
        }
    }

    private static String describe(Throwable e) {
        StringBuilder message = new StringBuilder(String.valueOf(e));
        for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
            message.append("\n  caused by: ").append(cause);
        }
        return message.toString();
    }

    private static void fail(int status, String message) {
        System.err.println("embedded-store: " + message);
        System.exit(status);
    }
}
