// Render throughput of Apache FreeMarker 2.3.31 over sluice's template vectors.
//
// Usage:
//   FtlBench [--warmup SECONDS] [--measure SECONDS] VECTOR_DIR...
//
// Each VECTOR_DIR contains template.ftl, data.json and expected.txt. The template is compiled once
// and the data model built once, with the configuration and JSON mapping of the oracle
// (FtlOracle.newConfiguration and FtlOracle.parseJson, compiled beside this file). The first
// render of each vector must equal expected.txt byte for byte, otherwise the program stops with
// exit status 1 before timing anything. Then every vector is rendered in turn for --warmup
// seconds in total so the JIT compiles the hot paths, and each vector is measured alone for
// --measure seconds. Every render writes into one reused StringWriter, cleared before each
// render, as sluice clears its reused String.
//
// Output: one line per vector on stdout, "NAME<TAB>PER_CPU_SECOND<TAB>PER_SECOND": renders per
// second of CPU time the whole JVM used (the rendering thread, JIT compiler and garbage
// collector threads), then renders per second of elapsed time, each with one decimal. CPU time
// is what other processes on a loaded machine do not take away.
// Exit status 2: usage error or unreadable vector.

import freemarker.template.Configuration;
import freemarker.template.Template;
import freemarker.template.TemplateException;

import com.sun.management.OperatingSystemMXBean;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

public final class FtlBench {

    static {
        System.setProperty("org.freemarker.loggerLibrary", "none");
    }

    /** Renders between two clock reads; small enough that a measurement ends on time. */
    private static final int BATCH = 64;

    private FtlBench() {
    }

    /** A compiled vector: the template, its data model and the reused output buffer. */
    static final class Vector {
        final String name;
        final Template template;
        final Object root;
        final StringWriter out = new StringWriter(4096);

        Vector(String name, Template template, Object root) {
            this.name = name;
            this.template = template;
            this.root = root;
        }

        /** Renders once into the reused buffer and returns the output length. */
        int render() throws TemplateException, IOException {
            out.getBuffer().setLength(0);
            template.process(root, out);
            return out.getBuffer().length();
        }
    }

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (UsageException e) {
            System.err.println("freemarker-bench: " + e.getMessage());
            System.exit(2);
        }
    }

    private static int run(String[] args) throws UsageException {
        double warmupSeconds = 5;
        double measureSeconds = 2;
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--warmup") || arg.equals("--measure")) {
                if (i + 1 == args.length) {
                    throw new UsageException(arg + " needs a number of seconds");
                }
                double seconds = parseSeconds(arg, args[++i]);
                if (arg.equals("--warmup")) {
                    warmupSeconds = seconds;
                } else {
                    measureSeconds = seconds;
                }
            } else {
                dirs.add(Paths.get(arg));
            }
        }
        if (dirs.isEmpty()) {
            throw new UsageException(
                    "usage: FtlBench [--warmup SECONDS] [--measure SECONDS] VECTOR_DIR...");
        }

        Configuration cfg = FtlOracle.newConfiguration();
        List<Vector> vectors = new ArrayList<>();
        for (Path dir : dirs) {
            Vector vector = load(cfg, dir);
            String expected = readText(dir.resolve("expected.txt"));
            String actual;
            try {
                vector.render();
                actual = vector.out.toString();
            } catch (TemplateException | IOException e) {
                System.err.println("freemarker-bench: " + vector.name + " failed to render: "
                        + e.getMessage());
                return 1;
            }
            if (!actual.equals(expected)) {
                System.err.println("freemarker-bench: " + vector.name
                        + " renders differently from its expected.txt; the configuration or data"
                        + " model no longer matches the oracle");
                return 1;
            }
            vectors.add(vector);
        }

        OperatingSystemMXBean os =
                (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long sink = 0;
        try {
            long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
            while (System.nanoTime() < warmupEnd) {
                for (Vector vector : vectors) {
                    for (int i = 0; i < BATCH; i++) {
                        sink += vector.render();
                    }
                }
            }
            for (Vector vector : vectors) {
                long renders = 0;
                long cpuStart = os.getProcessCpuTime();
                long start = System.nanoTime();
                long end = start + (long) (measureSeconds * 1e9);
                long now;
                do {
                    for (int i = 0; i < BATCH; i++) {
                        sink += vector.render();
                    }
                    renders += BATCH;
                    now = System.nanoTime();
                } while (now < end);
                long cpuNanos = os.getProcessCpuTime() - cpuStart;
                double perCpuSecond = renders / (Math.max(cpuNanos, 1) / 1e9);
                double perSecond = renders / ((now - start) / 1e9);
                System.out.println(vector.name + "\t" + String.format(Locale.ROOT, "%.1f\t%.1f",
                        perCpuSecond, perSecond));
            }
        } catch (TemplateException | IOException e) {
            System.err.println("freemarker-bench: a render failed after the first: " + e.getMessage());
            return 1;
        }
        // Printing the sum keeps the JIT from dropping renders whose output is never read.
        System.err.println("freemarker-bench: output bytes rendered: " + sink);
        return 0;
    }

    private static double parseSeconds(String option, String text) throws UsageException {
        double seconds;
        try {
            seconds = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new UsageException(option + " must be a number of seconds, got \"" + text + "\"");
        }
        if (!(seconds >= 0 && seconds <= 600)) {
            throw new UsageException(option + " must be between 0 and 600 seconds, got " + text);
        }
        return seconds;
    }

    private static Vector load(Configuration cfg, Path dir) throws UsageException {
        String name = dir.getFileName().toString();
        String source = readText(dir.resolve("template.ftl"));
        Object root;
        try {
            root = FtlOracle.parseJson(readText(dir.resolve("data.json")));
        } catch (IOException | RuntimeException e) {
            throw new UsageException("invalid JSON in " + dir.resolve("data.json") + ": " + e.getMessage());
        }
        if (!(root instanceof Map)) {
            throw new UsageException("the JSON document in " + dir.resolve("data.json")
                    + " must be an object");
        }
        try {
            return new Vector(name, new Template(name, new StringReader(source), cfg), root);
        } catch (IOException e) {
            throw new UsageException(name + " failed to compile: " + e.getMessage());
        }
    }

    private static String readText(Path path) throws UsageException {
        try {
            return new String(Files.readAllBytes(path), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException("cannot read " + path + " (" + e.getClass().getSimpleName() + ")");
        }
    }
}
